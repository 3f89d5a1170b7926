// Package pass holds what sessgc's commands share beyond cmdutil: opening a
// store safely, the skeleton of a pass over it (fleet lock, time budget,
// how it ended), the error log, the node-exporter textfile, the SESSGC_*
// environment variables and the key set.
package pass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
	"github.com/sessfs/sessfs/internal/keyline"
	"github.com/sessfs/sessfs/lock"
)

// Why a pass was skipped (Outcome.SkipReason).
const (
	// SkipFleetLock: another host held the fleet lock.
	SkipFleetLock = "fleet-lock-held"
	// SkipNoStore: the store directory was missing or empty and the
	// command was told that is fine (run --missing-ok); see ErrNoStore.
	SkipNoStore = "no-store"
	// SkipRekeyRunning: another rekey of the store held the store's own
	// lock of a rekey pass (fsstore.ErrRekeyRunning): one of another
	// process's that took no fleet lock (an application's Rekey, a rekey
	// with --no-fleet-lock).
	SkipRekeyRunning = "rekey-running"
)

// StopFleetLockLost is the Outcome.StopReason of a pass that lost its
// fleet lease mid-pass (see Run).
const StopFleetLockLost = "fleet-lock-lost"

// StopReadOnly is the Outcome.StopReason of a pass that stopped because
// the store's file system turned read-only on this host mid-pass, or a
// mount over part of the store is (see Run).
const StopReadOnly = "read-only"

// StopFailingIO is the Outcome.StopReason of a pass that stopped because
// the storage failed with I/O errors in fsstore.FailingIODirs directories
// or more (fsstore.ErrFailingIO; see Run).
const StopFailingIO = "io-errors"

// StopStoreGone is the Outcome.StopReason of a pass whose store directory
// was removed, or whose file system was unmounted, mid-pass (see Run).
const StopStoreGone = "store-gone"

// The other stop reasons, which the commands set themselves too.
const (
	StopMaxDuration  = "max-duration"
	StopInterrupted  = "interrupted"
	StopUnresponsive = "unresponsive"
)

// StopReasons are every Outcome.StopReason a pass may report, as
// docs/operations.md lists them.
func StopReasons() []string {
	return []string{StopMaxDuration, StopInterrupted, StopUnresponsive, StopFleetLockLost, StopReadOnly, StopFailingIO, StopStoreGone}
}

// ErrFleetLockLost matches the error of a pass that Run stopped because
// its fleet lease was lost; it exits with cmdutil.ExitFailure.
var ErrFleetLockLost = errors.New("fleet lock lost")

// fleetCheckEvery is how often Run checks the fleet lock while the pass
// runs: it reads a fleet lease back (Handle.Verify: one open and read of
// the lease file), and checks a fleet flock's file (FileLock.Verify: an
// fstat and an lstat, and on NFS a one-byte write-through every 5 s),
// next to the hundreds of calls a second of a sweep. After a stop longer
// than that (SIGSTOP, a frozen VM, a hung mount), the first check comes
// as the process resumes.
const fleetCheckEvery = time.Second

// Outcome is how a pass ended besides its counts; run and rekey put it in
// their JSON summaries. Its fields are documented in docs/operations.md.
type Outcome struct {
	Skipped    bool   `json:"skipped"`               // nothing done, for SkipReason
	SkipReason string `json:"skip_reason,omitempty"` // SkipFleetLock, SkipNoStore or SkipRekeyRunning
	// FleetHolder is who holds the fleet lock, when it is a lease whose
	// owner record could be read (SkipFleetLock): a flock says nothing
	// of its holder.
	FleetHolder  *FleetHolder `json:"fleet_lock_holder,omitempty"`
	StoppedEarly bool         `json:"stopped_early"`
	StopReason   string       `json:"stop_reason,omitempty"` // one of StopReasons
	ErrorSamples []string     `json:"error_samples"`         // the first 20 errors
	Error        string       `json:"error,omitempty"`
	ExitCode     int          `json:"exit_code"`
}

// SetErr records err, the pass's result so far, as its error and exit
// code, and returns it.
func (o *Outcome) SetErr(err error) error {
	o.ExitCode, o.Error = cmdutil.ExitCode(err), ""
	if err != nil {
		o.Error = Shown(err.Error())
	}
	return err
}

// Shown is s for a message, a summary's field or a metric's label, with
// each word that may be a key's secret and that the user gave (this
// process's arguments, its environment's values) left out, as the errors
// on standard error are (cmdutil.Execute): a key line pasted where a path
// or a setting goes (SESSGC_DIR="$(cat keys)") is repeated by every
// message that names that path, and the JSON summary and the textfile go
// to log collectors and Prometheus. Only what was given: a file name the
// store made may read as a secret too (the probe's temp file, see
// keyline.RedactGiven), and the operator needs it.
func Shown(s string) string {
	// Not only where keyline.Holds: a given secret in a path ("--dir
	// /srv/SECRET") makes one word with it, which Holds does not take,
	// and the summary and the textfile repeated it where standard error
	// did not.
	return keyline.RedactGiven(s, cmdutil.Given(os.Args[1:], os.Environ())...)
}

// Abandoned records how a pass that Watchdog abandoned ended.
func (o *Outcome) Abandoned(err error) {
	o.StoppedEarly, o.StopReason = true, StopUnresponsive
	if !errors.Is(err, ErrUnresponsive) {
		o.StopReason = StopInterrupted
	}
}

// Human returns the end of a pass's human summary: "; N errors" when
// there were any, a newline, and a line saying why the pass stopped early,
// if it did, and what the next pass does (next).
func (o Outcome) Human(errors int64, maxDuration time.Duration, next string) string {
	var s string
	if errors > 0 {
		s = fmt.Sprintf("; %s errors", Count(errors))
	}
	s += "\n"
	switch o.StopReason {
	case "max-duration":
		s += fmt.Sprintf("sessgc: stopped early: --max-duration %s spent; %s\n", maxDuration, next)
	case "interrupted":
		s += fmt.Sprintf("sessgc: stopped early: interrupted; %s\n", next)
	case "unresponsive":
		s += fmt.Sprintf("sessgc: stopped early: the file server did not answer within --max-duration %s; %s\n", maxDuration, next)
	case StopFleetLockLost:
		s += fmt.Sprintf("sessgc: stopped early: the fleet lock was lost, and another host may be running the same pass; %s\n", next)
	case StopReadOnly:
		s += "sessgc: stopped early: a write in the store was refused as read-only on this host (the error names the path, and whether the store's whole file system is); check the mount (findmnt -T PATH) and the kernel log (dmesg), and remount it read-write; the next run goes on\n"
	case StopFailingIO:
		s += fmt.Sprintf("sessgc: stopped early: the storage failed with I/O errors (EIO, ESTALE) in %d directories or more, %d errors or more among them (a shard directory fails when its listing does, when %d of its files in a row do, or when none of its files answered otherwise); one damaged shard alone does not stop a run; check the disk or the file server (dmesg), and remount an NFS share whose server was replaced; the next run goes on\n", fsstore.FailingIODirs, fsstore.FailingIORun, fsstore.FailingIORun)
	case StopStoreGone:
		s += "sessgc: stopped early: the store directory was removed, or the file system it is on was unmounted, during the pass; check the mount (findmnt -T DIR); the next run goes on once it is back\n"
	}
	return s
}

// Limits are the settings that bound a pass.
type Limits struct {
	// LockName is the fleet lock's file in the store's lock directory.
	// Names starting with '.' are reserved there for such uses.
	LockName string
	// NoFleetLock skips the lock (--no-fleet-lock, and dry runs, which
	// change nothing).
	NoFleetLock bool
	// FleetLeaseTTL, when not 0, is the fleet lease's own TTL on a store
	// with the lease strategy (--fleet-lock-ttl, see CheckFleetLockTTL);
	// 0 takes the store's lease TTL (15 s by default).
	FleetLeaseTTL time.Duration
	// FleetLeaseTTLGiven: FleetLeaseTTL came from the command line, not a
	// SESSGC_* variable. On a store that locks with flock, where it does
	// nothing, Warn is told so; a variable is set fleet-wide, for stores
	// of both kinds, and is silent.
	FleetLeaseTTLGiven bool
	// Warn, if set, prints a warning line (see FleetLeaseTTLGiven).
	Warn func(msg string)
	// Log, if set, is told of a fleet lease that could not be released
	// after a pass that ran to its end (the lease ran out unrenewed
	// meanwhile, or was broken): the command's store logger.
	Log *slog.Logger

	// beforeRelease, set by tests, runs once the pass's outcome is
	// decided, before the fleet lease is released.
	beforeRelease func()
}

// Run is the skeleton of a pass over s: it takes the fleet lock without
// waiting, runs work, and says how the pass ended. ctx carries the
// --max-duration budget: Run runs under Watchdog, whose context ends with
// the cause ErrBudgetSpent once the budget, counted from the command's
// start, is spent.
//
//   - Another host holds the lock: work does not run, Outcome.Skipped, and
//     the error is nil (exit 0): the same cron line runs on every host.
//   - ctx ended (a signal): "interrupted", and an error that exits 130 for
//     SIGINT (143 for SIGTERM, 129 for SIGHUP, 141 for SIGPIPE).
//   - An error matching fsstore.ErrUnavailable: the file server did not
//     answer in time; "unresponsive", exit 4 (see Unavailable), also when
//     the budget ran out meanwhile: a store on NFS gives up on a call
//     the server does not answer only after the budget ends (its scans
//     are bounded once their context ends), and that must exit as
//     Watchdog's abandonment of the same call does, whichever of the
//     two gives up first.
//   - The budget ran out (ctx ended with ErrBudgetSpent):
//     Outcome.StoppedEarly with "max-duration", nil error (exit 0); the
//     next pass continues. Any other error of work is then the deadline's, and records may be left even when work
//     returned nil, so a spent budget always counts as stopped early.
//   - The fleet lock was lost mid-pass (on a store with the lease
//     strategy: the host stopped or was cut off from the server for
//     longer than the lease, and another host broke it and may be
//     running the same pass; with flock: the NFS server dropped the
//     lock of a host cut off for longer than its lease, or the lock
//     file was removed or replaced): Run checks the lock every
//     fleetCheckEvery and, once it is lost, ends work's context, so that
//     the pass stops at its next removal (or rewrite) and settles what it
//     started, as for a signal: Outcome.StoppedEarly with
//     StopFleetLockLost, and an error matching ErrFleetLockLost that exits
//     1. Two passes at once are safe, but the operator must hear of it:
//     each adds its load to the server's. An outage that also made the
//     store give up (ErrUnavailable) reports that instead.
//   - The store's marker is gone after work: its directory was removed,
//     or its file system unmounted (leaving the mount point), mid-pass;
//     the scan found every shard missing, which is no error of its own
//     (shards are made on first use), and the fleet lock's file gone:
//     Outcome.StoppedEarly with StopStoreGone, exit 3, where the pass
//     said one readdir error, or a swept store and a lost fleet lock.
//   - The store's file system turned read-only on this host mid-pass, or
//     a mount over part of the store is (an error matching EROFS, or on
//     Windows a write-protected volume: the store's scan stops at the
//     first write refused so, as each one left would be):
//     Outcome.StoppedEarly with StopReadOnly, exit 3, as for a store
//     found read-only as it opens.
//   - fsstore.ErrFailingIO: Outcome.StoppedEarly with StopFailingIO,
//     exit 3, the store's storage failing.
//   - Any other error from work means the store as a whole is unusable:
//     exit 3. Work counts failures on single files itself.
func Run(ctx context.Context, s *fsstore.Store, lim Limits, work func(context.Context) error) (Outcome, error) {
	var out Outcome
	// storeLost: the store was found gone after work (see storeGone), and
	// with it the fleet lock's file: said once, not as a lost lock too.
	var storeLost bool
	// Run reports how the pass ended, not its result: the caller records
	// that with SetErr.
	workCtx, stopWatch := ctx, func() {}
	if !lim.NoFleetLock {
		// Relative to the lock directory opened without following a
		// symlink: one swapped in for locks/ since the store opened it
		// must not make the pass create or lock a file outside the store.
		// Made with the store's file mode, not 0600.
		l, err := lock.TryLockFileIn(filepath.Join(s.Dir(), fsstore.LockDir), lim.LockName, storeFileMode(s.Dir()))
		if errors.Is(err, lock.ErrLocked) {
			out.Skipped, out.SkipReason = true, SkipFleetLock
			return out, nil
		}
		if s.LockStrategy() == lock.Lease && (errors.Is(err, lock.ErrNotSupported) || errors.Is(err, lock.ErrTooManyLocks)) {
			// Flock does not work on this mount (NFSv3 without a lock
			// manager, a file system without locks): that is why the
			// store locks with leases, and the lease below is the fleet
			// lock. A sessgc of an earlier version, which takes the
			// flock alone, cannot run here either.
			l, err = nil, nil
		}
		if isFull(err) {
			// The file is made by the first pass and kept: this store
			// filled up before any sessgc pass of this kind ran on it.
			return out, cmdutil.StoreErrorf("fleet lock %s: %w: the file system (or quota) is full and the store has no such lock file yet (the first sessgc pass on it makes it), nor can one be made now; free a few files (inodes) outside the store and run again", lim.LockName, err)
		}
		if err != nil {
			return out, cmdutil.StoreErrorf("fleet lock %s: %w", lim.LockName, err)
		}
		if l != nil {
			defer l.Unlock()
		}
		// Where flock excludes only this host's processes, the store
		// locks with leases, and so must the fleet lock: two collectors
		// (or rekeys) on two hosts would each take their host's flock.
		// The flock is kept as well, for a sessgc of an earlier version
		// on this host, which takes only that.
		if s.LockStrategy() == lock.Lease {
			h, closeTable, err := tryFleetLease(s, lim)
			if errors.Is(err, lock.ErrLocked) {
				out.Skipped, out.SkipReason = true, SkipFleetLock
				out.FleetHolder = fleetHolder(s, lim)
				return out, nil
			}
			if err != nil {
				return out, cmdutil.StoreErrorf("fleet lock %s: %w", lim.LockName, err)
			}
			workCtx, stopWatch = watchFleet(ctx, h.Verify)
			stopWatch = sync.OnceFunc(stopWatch)
			defer func() {
				stopWatch()
				if lim.beforeRelease != nil {
					lim.beforeRelease()
				}
				unlockFleet(h.Unlock, lim, storeLost || errors.Is(context.Cause(workCtx), ErrFleetLockLost))
				closeTable()
			}()
		} else {
			if lim.FleetLeaseTTL != 0 && lim.FleetLeaseTTLGiven && lim.Warn != nil {
				lim.Warn(fmt.Sprintf("--fleet-lock-ttl %v does nothing here: the store locks with flock, and so does its fleet lock (the TTL is the fleet lease's, on a store that locks with leases)", lim.FleetLeaseTTL))
			}
			// The flock is the fleet lock. Its Unlock waits for a Verify
			// under way, and says nothing of a loss: a last Verify
			// before it does, as a lease's Unlock checks the lease.
			workCtx, stopWatch = watchFleet(ctx, l.Verify)
			stopWatch = sync.OnceFunc(stopWatch)
			defer func() {
				stopWatch()
				if lim.beforeRelease != nil {
					lim.beforeRelease()
				}
				unlockFleet(func() error {
					if err := l.Verify(); errors.Is(err, lock.ErrLockLost) {
						l.Unlock()
						return err
					}
					return l.Unlock()
				}, lim, storeLost || errors.Is(context.Cause(workCtx), ErrFleetLockLost))
			}()
		}
	}
	start := time.Now()
	err := work(workCtx)
	// The watch ends with work, so that the outcome below and the
	// release's report read one cause: a loss found after work returned
	// is the release's to report, not a stop of a pass that ran to its end.
	stopWatch()
	var gone error
	if s != nil && !errors.Is(err, fsstore.ErrUnavailable) && (ctx.Err() == nil || errors.Is(context.Cause(ctx), ErrBudgetSpent)) {
		// One stat of the marker, which a store keeps in place (it is
		// replaced by a rename, never removed): a file server that does
		// not answer it is the watchdog's.
		gone = storeGone(s.Dir())
		storeLost = gone != nil
	}
	switch {
	case ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrBudgetSpent):
		out.StoppedEarly, out.StopReason = true, StopInterrupted
		return out, Interrupted(ctx, "after "+Elapsed(time.Since(start)))
	case errors.Is(err, fsstore.ErrUnavailable):
		out.StoppedEarly, out.StopReason = true, StopUnresponsive
		return out, Unavailable(err)
	case gone != nil:
		out.StoppedEarly, out.StopReason = true, StopStoreGone
		return out, cmdutil.StoreErrorf("store %s: the directory was removed, or the file system it is on was unmounted, %s into the pass (%v); the pass stopped there: what it removed or rewrote before stays done, and the next run goes on once the store is back (check the mount: findmnt -T %s)",
			s.Dir(), Elapsed(time.Since(start)), gone, s.Dir())
	case fserr.ReadOnly(err):
		out.StoppedEarly, out.StopReason = true, StopReadOnly
		return out, cmdutil.StoreErrorf("store %s: a write was refused as read-only on this host %s into the pass, which stopped there; what it removed or rewrote before stays done, the rest is left to the next run: %w", s.Dir(), Elapsed(time.Since(start)), err)
	case errors.Is(err, fsstore.ErrFailingIO):
		out.StoppedEarly, out.StopReason = true, StopFailingIO
		return out, cmdutil.StoreErrorf("store %s: %s into the pass: %w", s.Dir(), Elapsed(time.Since(start)), err)
	case errors.Is(context.Cause(workCtx), ErrFleetLockLost):
		out.StoppedEarly, out.StopReason = true, StopFleetLockLost
		return out, cmdutil.FailureErrorf("%w; the pass stopped %s in, before its next change to the store, and left nothing half-done; another host may be running the same pass now, which is safe but doubles the load on the file server; the next pass goes on",
			context.Cause(workCtx), Elapsed(time.Since(start)))
	case ctx.Err() != nil: // the budget, the only other end of ctx
		out.StoppedEarly, out.StopReason = true, StopMaxDuration
		return out, nil
	case err != nil:
		return out, cmdutil.StoreErrorf("%w", err)
	}
	return out, nil
}

// tryFleetLease takes the fleet lease lim names without waiting: through
// the store's lock table (TryLockFleet), with the store's lease TTL, or,
// for a FleetLeaseTTL of its own, through a lease table of its own in the
// store's lock directory, its files made with the store's file mode, as
// the store's are. closeTable closes that table, after the lease's Unlock.
func tryFleetLease(s *fsstore.Store, lim Limits) (h *lock.Handle, closeTable func(), err error) {
	name := strings.TrimPrefix(lim.LockName, ".")
	if lim.FleetLeaseTTL == 0 {
		h, err := s.TryLockFleet(name)
		return h, func() {}, err
	}
	tab, err := lock.NewTable(lock.Config{
		Dir:      filepath.Join(s.Dir(), fsstore.LockDir),
		Strategy: lock.Lease,
		LeaseTTL: lim.FleetLeaseTTL,
		FileMode: storeFileMode(s.Dir()),
	})
	if err != nil {
		return nil, nil, err
	}
	if h, err = tab.TryLock(name, name, lock.Exclusive); err != nil {
		tab.Close()
		return nil, nil, err
	}
	return h, func() { tab.Close() }, nil
}

// minFleetLockTTL is the shortest --fleet-lock-ttl: the lease is renewed
// every third of it, each renewal an open, a write and an fsync on the
// file server, and below this one slow renewal (a second or two on a busy
// NFS server) lets it run out.
const minFleetLockTTL = 5 * time.Second

// CheckFleetLockTTL refuses a --fleet-lock-ttl ttl (0: the store's) that
// the lock package would refuse (above lock.MaxLeaseTTL), shorter than
// minFleetLockTTL, or longer than the pass's --max-duration maxDuration
// (when set): a pass that dies, or that Watchdog abandons in a call that
// does not return, leaves its lease until it expires, and a lease longer
// than a pass keeps the next pass, on any host, out.
func CheckFleetLockTTL(ttl, maxDuration time.Duration) error {
	switch {
	case ttl == 0:
		return nil
	case ttl < minFleetLockTTL || ttl > lock.MaxLeaseTTL:
		return cmdutil.UsageErrorf("--fleet-lock-ttl %v: want 0 (the store's lease, 15s) or %v..%v", ttl, minFleetLockTTL, lock.MaxLeaseTTL)
	case maxDuration > 0 && ttl > maxDuration:
		return cmdutil.UsageErrorf("--fleet-lock-ttl %v is longer than --max-duration %v: a pass that dies leaves its fleet lease until it expires, and one longer than a pass would keep the next pass out", ttl, maxDuration)
	}
	return nil
}

// watchFleet returns a context derived from ctx that ends, with a cause
// matching ErrFleetLockLost, once verify (the fleet lock's Verify) finds
// the lock lost; stop ends the watch without waiting for it: a Verify
// under way waits for the file server, and the Unlock after stop waits
// for that Verify (and for the server) in any case.
func watchFleet(ctx context.Context, verify func() error) (workCtx context.Context, stop func()) {
	workCtx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(fleetCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-workCtx.Done():
				return
			case <-t.C:
			}
			// Any other error is a lock that could not be checked just
			// now: a lease's renewer keeps it while it lasts.
			if err := verify(); errors.Is(err, lock.ErrLockLost) {
				select {
				case <-done: // unlocked meanwhile: not a loss
				default:
					cancel(fmt.Errorf("%w (%w)", ErrFleetLockLost, err))
				}
				return
			}
		}
	}()
	return workCtx, func() { close(done); cancel(nil) }
}

// unlockFleet releases the fleet lock after the pass with unlock: the
// lease's Unlock, or the flock's last Verify and Unlock. An error there,
// after a pass not already reported as having lost the lock (reported),
// is logged: the pass ran to its end, but the lock may have been lost
// during it (a lease run out unrenewed, a flock's file replaced or
// dropped by the NFS server), and another host may have run the same
// pass meanwhile.
func unlockFleet(unlock func() error, lim Limits, reported bool) {
	err := unlock()
	if err == nil || reported || lim.Log == nil {
		return
	}
	lim.Log.Warn("releasing the fleet lock failed: the pass ran to its end, but the lock may have been lost during it and another host may have run the same pass alongside it",
		"lock", lim.LockName, "err", err)
}

// Interrupted returns the error of a pass that ctx's end stopped; when
// says when. A signal's error carries its exit code (130 for Ctrl-C); a
// context cancelled otherwise is a failure (exit 1).
func Interrupted(ctx context.Context, when string) error {
	if cause := cmdutil.Interrupted(ctx, nil); cause != nil {
		return fmt.Errorf("%w %s", cause, when)
	}
	return cmdutil.FailureErrorf("interrupted %s: %w", when, context.Cause(ctx))
}

// Finish writes a pass's metrics to the textfile path (if not "") and
// returns the pass's error, passErr, or, when only the textfile could not
// be written, a failure (exit 1): a pass whose monitoring is broken must
// not look like a success to cron. A textfile failure after a failed pass
// is printed on errOut and the pass's own error kept.
func Finish(path string, m *Metrics, passErr error, errOut io.Writer) error {
	if path == "" {
		return passErr
	}
	err := WriteTextfile(path, m)
	switch {
	case err == nil:
		return passErr
	case passErr == nil:
		return cmdutil.FailureErrorf("--textfile: %w", err)
	}
	fmt.Fprintf(errOut, "sessgc: --textfile: %v\n", err)
	return passErr
}

// FleetHolder is what the fleet lease's owner record says of its holder
// (lock.LeaseHolder), or the store's rekey lock's lease's (LeaseHolder).
type FleetHolder struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Expires is when the lease runs out unless its holder renews it, by
	// the holder's clock. A holder that died (SIGKILL, its host down)
	// holds it until then, plus the lease's grace period.
	Expires time.Time `json:"expires"`
}

// fleetHolder reads who holds the fleet lease, nil when that cannot be
// read (released meanwhile, a record being written): the message then
// says what it said before, that another pass holds it.
func fleetHolder(s *fsstore.Store, lim Limits) *FleetHolder {
	return LeaseHolder(s, strings.TrimPrefix(lim.LockName, "."))
}

// LeaseHolder reads who holds the lease of the lock name in the store's
// lock directory (the fleet lock's, the store's rekey lock's), nil on a
// store that does not lock with leases (a flock says nothing of its
// holder) and when the record cannot be read (released meanwhile, a
// record being written): the message then says what it says without
// one.
func LeaseHolder(s *fsstore.Store, name string) *FleetHolder {
	if s.LockStrategy() != lock.Lease {
		return nil
	}
	d := lock.NewLeaseDir(filepath.Join(s.Dir(), fsstore.LockDir))
	defer d.Close()
	h, err := d.Holder(name)
	if err != nil {
		return nil
	}
	return &FleetHolder{Host: h.Host, PID: h.PID, Expires: h.Expires}
}

// SkippedMessage is the message of a pass skipped because the fleet lock
// lockPath of dir is held, h its holder (nil: a flock, which says nothing
// of its holder, or a record not read). other is what the holder does,
// "sessgc is sweeping", and busy the sentence without a holder, which
// says the lock is held. A lease's holder that died (killed, its host
// down) looks the same as one alive until its lease runs out: said so,
// rather than that it runs.
func SkippedMessage(h *FleetHolder, dir, lockPath, other, busy string) string {
	if h == nil {
		return busy
	}
	return fmt.Sprintf("sessgc: the fleet lock %s of %s is held by pid %d on host %s until %s by that host's clock unless renewed: "+
		"another %s there, or one that died (killed, its host down), which looks the same until the lease runs out; nothing to do\n",
		lockPath, dir, h.PID, h.Host, h.Expires.UTC().Format(time.RFC3339), other)
}

// storeGone returns why the store in dir is gone (its marker missing: the
// directory removed, or the file system under it unmounted, which leaves
// the empty mount point), or nil.
func storeGone(dir string) error {
	if _, err := os.Lstat(filepath.Join(dir, fsstore.MarkerFile)); errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
