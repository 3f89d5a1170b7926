// Package stats implements `sessgc stats`, a read-only census of a store.
package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
)

// StatsOptions are the settings of `sessgc stats`; flags bind to its fields.
type StatsOptions struct {
	IO *cmdutil.IOStreams

	Dir         string
	Concurrency int
	Grace       time.Duration
	TempAge     time.Duration
	MaxDuration time.Duration // 0: no limit
	JSON        bool
	LogLevel    pass.LogLevel
}

// NewCmdStats returns the stats command. runF, when not nil, replaces the
// census; tests use it to check flag parsing.
func NewCmdStats(io *cmdutil.IOStreams, runF func(*StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "stats --dir DIR [flags]",
		Short: "Count live, expired, temp and lock files in a store",
		Long: `Walk a store once and count its files as a sweep with the same --grace and
--temp-age would judge them now: live and expired sessions with their bytes
(and how many of the live ones an interrupted sweep or locked delete left
aside, which the next sweep puts back and reports as restored), temp files,
lock and lease files, foreign files, the range of session expiry times, and
how full the shard directories are, and name the file system that holds the
store (its type, source and mount point: nfs4 and the export on a host that
mounts the share). It removes nothing of the store's. Where it may
write, it writes temp files, removed at once: one where saves write, as
every command's opening of the store does to check that it is writable,
and one at the store's top whose mtime tells it the file server's time.

Read access is enough: on a mount that is read-only on this host, as a
user who may read the store but not write it, or as root on a store
another user owns (whose applications could not use what root created),
it counts
without creating, changing or removing anything (where run and rekey exit
3), says so once on stderr, and judges ages by this host's clock instead of
the file server's ("host_clock": true in --json): a host clock ahead of the
server's counts sessions expired that much early, one behind that much late.
It counts so too, with a note naming the error, wherever the file server's
clock cannot be read although the store opened: a top directory that takes
no new file while the shards do (not writable by this user, a stale NFS
file handle). On a full file system or quota, which takes no new file, it
counts as usual, by the file server's clock, read from the store
directory's own mtime, which it sets to now. That file's time also tells
whether the file system keeps file times in whole seconds (ext4 with 128-byte
inodes, ext3, HFS+, sshfs, some NAS), where an application's read cache
(fsstore.WithCache) serves nothing: a "times" line says so ("whole_second_times"
in --json).

Expiry here is the sweep's view: a record's mtime (its last save or touch, by
the file server's clock) plus the largest idle timeout recorded in the store,
against the file server's time now (this host's where stats may not write).

With --max-duration, a census that has not finished in time ends with exit 1,
and one stuck in a call to a file server that does not answer (a hung NFS or
EFS mount) is abandoned and exits 4, as "sessgc run" does, instead of waiting
for the server as long as the mount does.`,
		Example: `  sessgc stats --dir /mnt/efs/sessions
  sessgc stats --dir /mnt/efs/sessions --json | jq .expired`,
		Args: cmdutil.NoArgs("the store is given with --dir"),
		RunE: pass.RunE(io, opts, opts.validate, runF, statsRun),
	}
	f := cmd.Flags()
	pass.PathVarP(f, &opts.Dir, "dir", "d", "", "store directory (required)")
	cmdutil.IntVarP(f, &opts.Concurrency, "concurrency", "c", 4, "shard directories walked in parallel, 1..64 (fewer under a low ulimit -n, said on stderr)")
	f.DurationVar(&opts.Grace, "grace", time.Minute, "as for run: extra age before a session counts as expired")
	f.DurationVar(&opts.TempAge, "temp-age", 10*time.Minute, "as for run: age after which a temp file counts as stale (at least 1m)")
	f.DurationVar(&opts.MaxDuration, "max-duration", 0, "give up after this long (0: no limit): exit 1, or 4 if the file server does not answer")
	f.BoolVar(&opts.JSON, "json", false, "print one JSON object")
	pass.LogLevelFlag(f, &opts.LogLevel)
	cmd.MarkFlagDirname("dir")
	return cmd
}

func (o *StatsOptions) validate() error {
	if err := pass.Check(o.Dir, o.Concurrency, 0, o.MaxDuration, ""); err != nil {
		return err
	}
	return pass.CheckAges(o.Grace, o.TempAge)
}

// Report is the JSON object `sessgc stats --json` prints. Add fields,
// never rename them.
type Report struct {
	Dir            string     `json:"dir"`
	ShardDepth     int        `json:"shard_depth"`
	LockStripes    int        `json:"lock_stripes"`
	MaxIdleSecs    float64    `json:"max_idle_seconds"`
	Live           int64      `json:"live"`
	Restorable     int64      `json:"restorable"` // of live: held aside by an interrupted sweep or a locked delete that lost its lock, restored by the next
	Expired        int64      `json:"expired"`
	LiveBytes      int64      `json:"live_bytes"`
	ExpiredBytes   int64      `json:"expired_bytes"`
	Temps          int64      `json:"temps"`
	StaleTemps     int64      `json:"stale_temps"`
	TempBytes      int64      `json:"temp_bytes"`
	LockFiles      int64      `json:"lock_files"`
	Leases         int64      `json:"leases"`
	StaleLeases    int64      `json:"stale_leases"`
	Foreign        int64      `json:"foreign"`
	TotalBytes     int64      `json:"total_bytes"`
	OldestExpiry   *time.Time `json:"oldest_expiry"` // null when there is no session
	NewestExpiry   *time.Time `json:"newest_expiry"`
	Shards         int64      `json:"shards"`
	ShardCapacity  int64      `json:"shard_capacity"`
	MinShardFiles  int64      `json:"min_shard_files"`
	MaxShardFiles  int64      `json:"max_shard_files"`
	MeanShardFiles float64    `json:"mean_shard_files"`
	Errors         int64      `json:"errors"`
	ErrorSamples   []string   `json:"error_samples"` // the first errors, with their paths
	DurationSecs   float64    `json:"duration_seconds"`
	// HostClock: ages were judged by this host's clock, the store being
	// read-only here (see openToRead).
	HostClock bool `json:"host_clock"`
	// WholeSecondTimes: the file system keeps file times in whole
	// seconds, where an application's fsstore.WithCache serves nothing
	// (fsstore.Stats.WholeSecondTimes).
	WholeSecondTimes bool `json:"whole_second_times"`
	// FSType is the type of the file system that holds the store, as
	// mount(8) names it on Linux ("nfs4", "ext4"), statfs on macOS and
	// FreeBSD ("nfs", "apfs"); MountSource ("server:/export") and
	// MountPoint are its mount's. Each is "" where this OS does not say
	// (Windows, Linux without /proc for the last two).
	FSType      string `json:"fs_type"`
	MountSource string `json:"mount_source"`
	MountPoint  string `json:"mount_point"`
}

// mount names a file system: see Report.FSType.
type mount struct{ Type, Source, Point string }

func statsRun(ctx context.Context, opts *StatsOptions) error {
	// The census runs under the watchdog, opening the store included: on a
	// hung mount the first call to the server never returns. What it
	// fills is read only when it returned.
	var (
		st      fsstore.Stats
		dir     string
		refused error // why the store was opened read-only, if it was
		m       mount
	)
	// The first errors go to stderr as they come, with their paths: the
	// count alone does not say where to look.
	el, log := pass.Stderr(opts.IO.ErrOut, opts.LogLevel)
	abandoned, err := pass.Watchdog(ctx, pass.NewBudget(opts.MaxDuration), func(ctx context.Context) error {
		got, d, why, err := census(ctx, opts, log, el.Add)
		if err != nil {
			return err
		}
		st, dir, refused = got, d, why
		m = mountOf(d)
		return nil
	})
	if abandoned || err != nil {
		return err
	}
	if refused != nil {
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: note: %s\n", readOnlyNote(dir, refused, st.MaxIdle+opts.Grace))
	}
	r := newReport(pass.Shown(dir), &st)
	r.FSType, r.MountSource, r.MountPoint = m.Type, m.Source, m.Point
	r.ErrorSamples = append([]string{}, el.Samples()...) // [] rather than null in JSON
	if opts.JSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return cmdutil.FailureErrorf("encode: %w", err)
		}
		fmt.Fprintf(opts.IO.Out, "%s\n", b)
	} else {
		writeHuman(opts.IO.Out, &r)
	}
	if st.Errors > 0 {
		return cmdutil.FailureErrorf("%d files or directories could not be examined", st.Errors)
	}
	return nil
}

// census opens the store (openToRead) and counts it. Where the store
// opened for writing but the file server's clock could not be read, its
// top taking no temp file while the shards do (a top this user may not
// write, a full file system or quota, a stale NFS file handle there), it
// counts again opened read-only, by this host's clock, as where the store
// may not be written at all: a census need not write, and the note says
// what the clock is worth. why is then that failure. Its errors are the
// command's.
func census(ctx context.Context, opts *StatsOptions, log *slog.Logger, onError func(error)) (st fsstore.Stats, dir string, why, err error) {
	s, why, err := openToRead(opts.Dir, log)
	if err != nil {
		return st, "", nil, err
	}
	st, err = count(ctx, s, opts, onError)
	if why == nil && errors.Is(err, fsstore.ErrNoServerClock) {
		s.Close()
		why = err
		if s, err = pass.OpenStore(opts.Dir, log, fsstore.WithReadOnly()); err != nil {
			return st, "", nil, err
		}
		st, err = count(ctx, s, opts, onError)
	}
	defer s.Close()
	switch {
	case errors.Is(err, fsstore.ErrUnavailable):
		err = pass.Unavailable(err)
	case err != nil && errors.Is(context.Cause(ctx), pass.ErrBudgetSpent):
		err = cmdutil.FailureErrorf("--max-duration %s spent before the census was complete: %w", opts.MaxDuration, err)
	case err != nil && ctx.Err() != nil:
		err = pass.Interrupted(ctx, "before the census was complete") // 130, 143 for a signal
	case err != nil:
		err = cmdutil.StoreErrorf("%w", err)
	}
	return st, s.Dir(), why, err
}

// count is the census of s.
func count(ctx context.Context, s *fsstore.Store, opts *StatsOptions, onError func(error)) (fsstore.Stats, error) {
	defer pass.ThreadsFor(s.OnNFS(), opts.Concurrency)()
	return s.Stats(ctx, fsstore.StatsOptions{Concurrency: opts.Concurrency, Grace: opts.Grace, TempAge: opts.TempAge, OnError: onError})
}

// openToRead opens the store as every command does, or opened
// fsstore.WithReadOnly, which creates, changes and removes nothing (a
// census needs no more), where sessgc may not write there: a mount
// read-only here, a user with read access alone, a full file system or
// quota (when an operator most wants the count), or root on a store
// another user owns (pass.CheckOwner), where what root wrote would be
// unusable by the applications. why is then that refusal, nil otherwise.
// A store this user may not read either is refused as the read-only open
// finds it, exit 3.
func openToRead(dir string, log *slog.Logger) (s *fsstore.Store, why, err error) {
	if err = pass.CheckOwner(dir); err == nil {
		s, err = pass.OpenStore(dir, log)
		if err == nil || !writeRefused(err) {
			return s, nil, err
		}
	}
	s, rerr := pass.OpenStore(dir, log, fsstore.WithReadOnly())
	if rerr != nil {
		return nil, nil, rerr
	}
	return s, err, nil
}

// writeRefused reports whether opening a store failed because this host
// may not write it: a read-only file system, permissions, or a file system
// (or the user's quota) that is full, when the count is most wanted.
func writeRefused(err error) bool {
	return fserr.ReadOnly(err) || errors.Is(err, fs.ErrPermission) || isFull(err)
}

// isFull reports whether err is a full file system or quota.
func isFull(err error) bool {
	return fserr.NoSpace(err)
}

// readOnlyNote says what a census of a store opened read-only could not
// do, and how it judged expiry instead; expireAfter is the store's max
// idle plus --grace.
func readOnlyNote(dir string, refused error, expireAfter time.Duration) string {
	var head string
	if errors.Is(refused, fsstore.ErrNoServerClock) {
		// The store opened for writing: only its top took no file.
		head = fmt.Sprintf("store %s counted, but the file server's clock could not be read (%v), so", dir, refused)
	} else {
		var why string
		switch {
		case fserr.ReadOnly(refused):
			why = "it is on a read-only filesystem on this host"
		case errors.Is(refused, fs.ErrPermission):
			why = fmt.Sprintf("this user (uid %d) may not write it", os.Getuid())
		case isFull(refused):
			why = "its file system is full (disk full or quota): no file could be written there"
		default: // pass.CheckOwner's refusal
			why = "sessgc runs as root and another user owns the store, whose applications could not use files root made there; run it as that user to have the file server's clock measured"
		}
		head = fmt.Sprintf("store %s counted without writing to it (%s): the file server's clock was not measured "+
			"(that takes a temp file in the store), so", dir, why)
	}
	return fmt.Sprintf("%s ages were judged by this host's clock: a session counts as expired "+
		"once its last save or touch (its file's mtime, which the file server stamps) is more than the max idle plus --grace (%s) "+
		"before this host's time now, and temp and lease files stale likewise; where this host's clock is ahead of the server's, "+
		"they count as expired or stale that much early, where it is behind, that much late", head, expireAfter)
}

func newReport(dir string, st *fsstore.Stats) Report {
	r := Report{
		Dir: dir, ShardDepth: st.ShardDepth, LockStripes: st.LockStripes, MaxIdleSecs: st.MaxIdle.Seconds(),
		Live: st.Live, Restorable: st.Restorable, Expired: st.Expired, LiveBytes: st.LiveBytes, ExpiredBytes: st.ExpiredBytes,
		Temps: st.Temps, StaleTemps: st.StaleTemps, TempBytes: st.TempBytes,
		LockFiles: st.LockFiles, Leases: st.Leases, StaleLeases: st.StaleLeases,
		Foreign: st.Foreign, TotalBytes: st.Bytes,
		Shards: st.Shards, ShardCapacity: st.ShardCapacity,
		MinShardFiles: st.MinShardFiles, MaxShardFiles: st.MaxShardFiles,
		Errors: st.Errors, DurationSecs: st.Duration.Seconds(), HostClock: st.HostClock,
		WholeSecondTimes: st.WholeSecondTimes,
	}
	if !st.OldestExpiry.IsZero() {
		o, n := st.OldestExpiry.UTC(), st.NewestExpiry.UTC()
		r.OldestExpiry, r.NewestExpiry = &o, &n
	}
	if st.Shards > 0 {
		r.MeanShardFiles = float64(st.Live+st.Expired+st.Temps) / float64(st.Shards)
	}
	return r
}

func writeHuman(w io.Writer, r *Report) {
	c, b := pass.Count, pass.Bytes
	fmt.Fprintf(w, "store     %s (shard depth %d, %d lock stripes, max idle %s)\n",
		r.Dir, r.ShardDepth, r.LockStripes, time.Duration(r.MaxIdleSecs*float64(time.Second)))
	switch {
	case r.FSType == "":
		fmt.Fprintf(w, "mount     file system not named on this OS\n")
	case r.MountPoint == "":
		fmt.Fprintf(w, "mount     %s\n", r.FSType)
	default:
		fmt.Fprintf(w, "mount     %s %s on %s\n", r.FSType, r.MountSource, r.MountPoint)
	}
	// Restorable only when there are any: it takes a sweep that died, or a
	// locked delete that found its lock lost.
	aside := ""
	if r.Restorable > 0 {
		aside = fmt.Sprintf("; %s of the live held aside by an interrupted sweep or a locked delete that lost its lock, which the next sweep restores", c(r.Restorable))
	}
	fmt.Fprintf(w, "sessions  %s live (%s), %s expired (%s)%s\n", c(r.Live), b(r.LiveBytes), c(r.Expired), b(r.ExpiredBytes), aside)
	if r.OldestExpiry != nil {
		fmt.Fprintf(w, "expiry    oldest %s, newest %s\n", r.OldestExpiry.Format(time.RFC3339), r.NewestExpiry.Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "expiry    no sessions\n")
	}
	fmt.Fprintf(w, "temp      %s files (%s stale), %s\n", c(r.Temps), c(r.StaleTemps), b(r.TempBytes))
	// Lock files are the stripes' and the store's own (marker, sweep,
	// rekey): a store swept once holds the sweep's before any stripe's.
	fmt.Fprintf(w, "locks     %s lock files (stripes, and the marker, sweep and rekey locks), %s lease files (%s stale)\n", c(r.LockFiles), c(r.Leases), c(r.StaleLeases))
	if r.Foreign > 0 {
		fmt.Fprintf(w, "foreign   %s files (never removed; sessgc run --dry-run lists them)\n", c(r.Foreign))
	} else {
		fmt.Fprintf(w, "foreign   %s files (never removed)\n", c(r.Foreign))
	}
	fmt.Fprintf(w, "total     %s\n", b(r.TotalBytes))
	fmt.Fprintf(w, "shards    %s of %s directories in use, %s..%s files each (mean %.0f)\n",
		c(r.Shards), c(r.ShardCapacity), c(r.MinShardFiles), c(r.MaxShardFiles), r.MeanShardFiles)
	if r.HostClock {
		fmt.Fprintf(w, "clock     ages judged by this host's clock, not the file server's (see the note on stderr)\n")
	}
	if r.WholeSecondTimes {
		fmt.Fprintf(w, "times     the file system keeps file times in whole seconds: an application's read cache (fsstore.WithCache) serves nothing here\n")
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "errors    %s files or directories could not be examined\n", c(r.Errors))
	}
	fmt.Fprintf(w, "took      %s\n", pass.ElapsedSecs(r.DurationSecs))
}
