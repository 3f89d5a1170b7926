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
	// Server describes a Redis server ("redis 7.0.15").
	Server string `json:"server,omitempty"`
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
