// Package bench runs session-store workloads against one or more targets and
// collects latency histograms.
//
// The runner is built so that its own cost per operation (two clock reads, a
// histogram record, a random pick) is a few tens of nanoseconds, far below
// the ~13 µs of the fastest real operation (a load from local disk); see
// BenchmarkHarnessOverhead.
package bench

import (
	"context"
	"fmt"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/mountstats"
)

// SessionIdle is how long a directory target keeps a session after its
// last write (fsstore's idle timeout), with no limit from the session's
// creation. A run measures live sessions however long it lasts: with a
// session handler's usual 24 minutes, a load or touch workload (which
// never saves), many sessions per client, or a long --duration would
// leave sessions unwritten for longer than that, and their loads and
// touches would find them gone: failing, or measuring a miss, which costs
// less than a hit. It is the longest idle timeout fsstore accepts; the
// store lives in a directory of its own that Close removes, and a killed
// run's leftovers there trouble no one else. A Redis target's TTL is
// shorter, derived from the run's plan (see redistarget.TTL): its keys
// share a server whose eviction may pick by TTL.
const SessionIdle = fsstore.MaxIdleTimeout

// Target is a session backend under test. Every method may be called from
// many goroutines at once. Targets own everything they create and remove it
// in Close.
type Target interface {
	// Name identifies the target in output: short and unique in a run.
	Name() string
	// Info describes where the target lives.
	Info() Info
	// Cycle runs one full request: exclusive lock, load, save payload, unlock.
	Cycle(ctx context.Context, id string, payload []byte) error
	// Load reads a session without locking.
	Load(ctx context.Context, id string) error
	// Save writes a session without locking.
	Save(ctx context.Context, id string, payload []byte) error
	// Touch extends a session's expiry without rewriting it.
	Touch(ctx context.Context, id string) error
	// Close releases resources and removes every file or key the target
	// created. It must work after ctx cancellation.
	Close() error
}

// Info describes a target for the report.
type Info struct {
	Kind     string `json:"kind"`     // "fs", "redis" or "noop"
	Location string `json:"location"` // directory or address as given
	// For a filesystem target, the mount holding the directory.
	MountPoint string `json:"mount_point,omitempty"`
	FSType     string `json:"fs_type,omitempty"`
	Source     string `json:"source,omitempty"`
	Options    string `json:"mount_options,omitempty"`
	NFS        bool   `json:"nfs"`
	// Durability is the fsstore durability level, for fs targets.
	Durability string `json:"durability,omitempty"`
	// Locks is how an fs target's store locks sessions: "flock", or
	// "lease" (lease files) where flock does not reach the file server
	// (an NFS mount with local_lock=flock, a FUSE mount), whose locked
	// cycle costs more round trips.
	Locks string `json:"locks,omitempty"`
	// Server describes a Redis server ("redis 7.0.15").
	Server string `json:"server,omitempty"`
	// Persistence says what a Redis server keeps of a write it answered
	// (see redistarget.Persistence): "aof, fsync always", "aof, fsync
	// every second", "aof, fsync left to the OS", "rdb snapshots only",
	// "none"; empty when the server would not say.
	Persistence string `json:"persistence,omitempty"`
	// SessionIdleSec is how long the target keeps a session after its
	// last write, in seconds: SessionIdle for a directory, the TTL for
	// Redis; 0 when sessions do not expire (noop).
	SessionIdleSec float64 `json:"session_idle_seconds,omitempty"`
}

// RPCCounter is implemented by targets on an NFS mount: it returns the
// mount's cumulative per-operation RPC counters.
type RPCCounter interface {
	RPCCounts() (mountstats.Counts, error)
}

// Noop is a target whose operations do nothing. It measures the harness.
type Noop struct{}

// Name implements Target.
func (Noop) Name() string { return "noop" }

// Info implements Target.
func (Noop) Info() Info { return Info{Kind: "noop", Location: "-"} }

// Cycle implements Target.
func (Noop) Cycle(context.Context, string, []byte) error { return nil }

// Load implements Target.
func (Noop) Load(context.Context, string) error { return nil }

// Save implements Target.
func (Noop) Save(context.Context, string, []byte) error { return nil }

// Touch implements Target.
func (Noop) Touch(context.Context, string) error { return nil }

// Close implements Target.
func (Noop) Close() error { return nil }

// RoomChecker is implemented by targets that share their space with
// others: a directory's file system, a Redis server's memory. A run
// writes Sessions sessions of every size before it measures anything, and
// with a large --size that is gigabytes: on the shared mount it would
// take the space the live store needs (its saves then fail), and in a
// Redis with a maxmemory policy it would evict other keys, real sessions
// among them. The runner asks before writing.
type RoomChecker interface {
	// CheckRoom returns an error if storing a sessions of each size in
	// sizes, while clients write at once, would take more than a
	// RoomShare of the space free there. A target that cannot tell how
	// much is free returns nil.
	CheckRoom(ctx context.Context, sessions int, sizes []int, clients int) error
}

// RoomSharer is a RoomChecker whose space other targets of the run may
// share: two --dir targets on one file system (or the same directory given
// twice, an A/A run) hold their sessions there at once, so the runner
// checks each for the sessions of all the targets that share its space,
// directly or through another.
type RoomSharer interface {
	// SharesRoom reports whether o's sessions take the same space as the
	// target's: false when it cannot tell.
	SharesRoom(o Target) bool
}

// RoomShare is the largest share of a target's free space a run may
// plan to take: the rest stays for the others who use it.
const RoomShare = 0.5

// NoRoom returns the error of a target whose run would take need bytes
// (a float64, as a plan's product of counts and sizes may not fit an
// int64) where free are free, nil if need is at most RoomShare of free.
// what names the space ("the file system of /mnt/x").
func NoRoom(what string, need float64, free int64) error {
	if need <= RoomShare*float64(free) {
		return nil
	}
	return fmt.Errorf("the run's sessions would take about %s of %s, which has %s free; "+
		"sessbench takes at most half of what is free: lower --sessions or --size", bytesString(need), what, bytesString(float64(max(free, 0))))
}

// bytesString prints a byte count in binary units: "512 B", "1.5 GiB".
func bytesString(v float64) string {
	const unit = 1024
	if v < unit {
		return fmt.Sprintf("%.0f B", v)
	}
	i := 0
	for v >= unit && i < 6 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i-1])
}
