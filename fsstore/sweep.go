package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessfs/sessfs/internal/fdlimit"
	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/lock"
)

// FileKind classifies the files a sweep removes.
type FileKind int

const (
	// KindSession is an expired session record.
	KindSession FileKind = iota
	// KindTemp is a temp file left by a writer that crashed.
	KindTemp
	// KindLease is an expired lease lock file whose holder died, or a
	// claim or replacement lease that a breaker of one left when it died.
	KindLease
)

func (k FileKind) String() string {
	switch k {
	case KindSession:
		return "session"
	case KindTemp:
		return "temp"
	case KindLease:
		return "lease"
	}
	return fmt.Sprintf("FileKind(%d)", int(k))
}

// SweepOptions configures Sweep. The zero value sweeps with the defaults.
type SweepOptions struct {
	// DryRun reports what the sweep would do and changes nothing: the
	// files it would remove (OnRemove, and the counts), and the sessions
	// an earlier sweep left aside that it would put back (Restored). It
	// takes no session lock either, so it never counts SkippedLocked. A
	// file in a directory this process may not write (as the kernel
	// answers for its effective user and capabilities: the modes and
	// ACLs, a read-only mount), or may not remove by a sticky directory's
	// rule (a file neither it nor the directory's owner owns, without
	// CAP_FOWNER over it), is not counted but passed to OnError, as the
	// sweep's failure to remove it would be.
	DryRun bool
	// Concurrency is the number of shard directories walked at once
	// (default 1, at most 64). Each worker has one removal in flight (the
	// NFS client serializes them within a directory), so on NFS several
	// workers keep a high-latency mount busy. Under a low open-file limit
	// (RLIMIT_NOFILE) the walk runs fewer workers, at least one, so that
	// each can open what it needs, and logs it once at level warn: each
	// worker keeps a few files open, and the store's lock files a quarter
	// of the limit.
	Concurrency int
	// Rate caps removals per second across workers (0: no cap), so that a
	// sweep cannot saturate a shared NFS server (on EFS a removal is metered
	// as five operations). The records an earlier sweep left aside count
	// too, whether removed or put back; a record the sweep looks at and
	// leaves as it is (its session in use, live by its own idle timeout,
	// gone meanwhile) does not.
	Rate float64
	// TempAge is the age after which a temp file counts as abandoned
	// (default 10 minutes; a live save keeps its temp file for milliseconds,
	// but as long as the NFS server takes to answer, and a save whose temp
	// file is removed fails: sessgc accepts no less than a minute).
	TempAge time.Duration
	// Grace is added to the store's largest idle timeout before a session
	// counts as expired (default 1 minute). Sweep compares file times with
	// the file server's clock (see Sweep), so Grace only absorbs the
	// difference between the server's clock and the app hosts' clocks.
	Grace time.Duration
	// OnRemove, if set, is called for every file removed (or, with DryRun,
	// that would be), after the removal, with no lock held (see Sweep).
	OnRemove func(Removal)
	// OnError, if set, is called for every file or shard directory that
	// could not be examined or removed. The sweep goes on; SweepStats.Errors
	// counts them. It is called with no lock held (see Sweep).
	OnError func(error)
	// OnForeign, if set, is called with the path of every file or
	// directory the sweep counts in SweepStats.Foreign: not the store's,
	// left alone (see Sweep), for an operator to find and move out. It
	// is called with no lock held (see Sweep).
	OnForeign func(path string)
	// Progress, if set, is where the sweep counts as it goes, so that
	// they can be read before Sweep returns: by a progress display, or by
	// a caller that gives up on a sweep stuck in a call to a file server
	// that does not answer, which may never return, and still reports
	// what it did. Give each sweep its own.
	Progress *SweepProgress
}

// SweepProgress holds a running sweep's counts (see SweepOptions.Progress).
// Its zero value is ready to use.
type SweepProgress struct {
	scanned, live, liveBytes, sessions, temps, leases, bytes atomic.Int64
	locked, renewed, restored, foreign, errs                 atomic.Int64
}

// Stats returns the counts so far; Duration is left zero. It may be
// called from any goroutine at any time. Removals and the kept records
// that are not live are counted as they happen; files scanned and live
// sessions in batches (at most 64 entries of a shard directory, and
// before each batch of removals), so that workers do not contend for the
// counters' cache lines on every file.
func (p *SweepProgress) Stats() SweepStats {
	return SweepStats{
		Scanned: p.scanned.Load(), Live: p.live.Load(), LiveBytes: p.liveBytes.Load(), Sessions: p.sessions.Load(),
		Temps: p.temps.Load(), Leases: p.leases.Load(), Bytes: p.bytes.Load(),
		SkippedLocked: p.locked.Load(), SkippedRenewed: p.renewed.Load(), Restored: p.restored.Load(),
		Foreign: p.foreign.Load(), Errors: p.errs.Load(),
	}
}

// Removal describes one file removed by a sweep.
type Removal struct {
	Path string
	Kind FileKind
	// Size is what the removal freed: the file's size, or 0 for a second
	// link to a record that stays under its name (a put-back that died
	// between its link and its unlink left the record under both names).
	Size int64
	// Age is the time since the last write or touch, by the file server's
	// clock; for an expired session, as read once for the batch of
	// removals in its shard, so it may read short by what the batch's
	// unlinks took.
	Age time.Duration
}

// SweepStats summarizes a sweep.
type SweepStats struct {
	Scanned int64 // files examined
	Live    int64 // live sessions kept
	// LiveBytes is the size of the records counted in Live, from the
	// attributes the scan reads anyway: what the store's live sessions
	// take on disk.
	LiveBytes int64
	Sessions  int64 // expired sessions removed
	Temps     int64 // abandoned temp files removed, and copies aside a newer record superseded (see Restored)
	Leases    int64 // expired lease files removed, and claims and replacements that dead lease breakers left
	Bytes     int64 // bytes freed
	// SkippedLocked counts records kept because a request held their
	// lock: only those whose header the sweep reads (see Sweep), that is,
	// past the marker's max idle but not the largest it ever held.
	SkippedLocked  int64
	SkippedRenewed int64 // saved or touched after the scan judged it: put back
	// Restored counts live records that an earlier sweep had moved aside
	// and left there (it died midway, or could not put them back), or that
	// a locked Delete left aside (it found its lock lost, or died between
	// its move and its check), put back under their names by this one (with DryRun, that it would put
	// back). They are kept sessions that Live does not count: it counts
	// the records found under their names, and not one this sweep put
	// back, restored or renewed, when the listing shows its name again.
	// A copy aside whose name a newer record took is the older one: it is
	// removed, reported to OnRemove by its own path as a KindTemp, and
	// counted in Temps and Bytes; a second link to the file its name holds
	// (a put-back that died between its link and its unlink) likewise,
	// freeing no bytes.
	Restored int64
	Foreign  int64 // files and directories anywhere in it not taken for the store's (see Sweep): never removed
	Errors   int64
	Duration time.Duration
}

// Removed returns the number of files removed.
func (st *SweepStats) Removed() int64 { return st.Sessions + st.Temps + st.Leases }

// Sweep removes expired sessions, abandoned temp files and expired lease
// lock files, in memory independent of the number of files: each worker
// streams one directory at a time.
//
// Expiry is judged from directory metadata alone: a session expires its
// idle timeout after its last Save or Touch, and every Save or Touch sets
// the file's mtime. On NFS those mtimes come from the server's clock, and
// Sweep reads the server's clock too (the mtime of a file it creates), so
// clock skew between app hosts and the sweeping host does not matter. A
// record younger than the largest idle timeout in the store's marker plus
// Grace is live. One older than the largest idle timeout the marker ever
// recorded plus Grace is expired whatever its own idle timeout: Sweep moves
// it aside, checks that what it moved is the file it judged, with the same
// mtime (a Save after the scan replaced the file, a Touch moved its mtime:
// either puts it back), and unlinks it; no lock and no read of the record.
// Only between the two, which happens only after an operator lowered the
// marker's max idle, does Sweep read the record's header, under the
// session's lock, and keep it until its own expiry plus Grace.
//
// One Sweep at a time runs on a store: a second one, from any process or
// host, waits for the first (or for ctx).
//
// Stripe lock files are never removed (see the lock package). Sweep
// judges what is the store's by name, place, type and size, without
// opening the file: a regular file with a record's name, in the shard that
// name selects, that is empty (as a power loss leaves one) or at least a
// record's header long, is taken for a record, so keep your own files out
// of the data directory. Everything else that is not a temp or lease file
// is foreign and never removed: directories, symbolic links, other names,
// files too short to be a record, and a record held aside (.tmp-gc-<name>)
// anywhere but in the shard its name selects. A file taken for a record
// but larger than any record the format can describe (the header and
// 1 GiB, whatever the largest WithMaxSize of this build or a later one)
// is no session (Load refuses it by its size alone, ErrCorrupt, and a
// Save replaces it):
// the sweep removes it once its mtime is older than Grace, whatever the
// marker's idle timeout, as an expired record (KindSession, Sessions), and
// Stats counts it expired from then.
//
// Sweep stops early with ctx's error when ctx ends; the stats cover the work
// done until then, and records it moved aside are settled before it returns.
// A Close of the store during the sweep ends it alike, with an error
// matching ErrClosed: the shards and files it then cannot reach are not
// errors (Errors, OnError). A file system that turns read-only on this
// host during the sweep (EROFS; on Windows, a write-protected volume)
// ends it at the first removal it refuses, counted in Errors and passed
// to OnError, with an error that wraps that refusal: each removal left
// would be refused alike. Records it had moved aside by then stay there
// (Load reads them there; the next sweep settles them), uncounted.
//
// On a bounded store (WithMaxInFlight) the sweep takes one slot and returns
// at the latest the ceiling (WithOpTimeout) after ctx ends, with
// ErrUnavailable if a system call is still stuck then.
//
// OnRemove, OnError and OnForeign run on a goroutine of the sweep's, not
// the caller's, one call at a time, in the order the sweep made its
// reports, and never on one that holds a session's lock: a callback that
// blocks (a write to a pipe nobody reads, a slow database) holds up no
// request for a session the sweep looked at. A worker calls the callbacks
// of what was reported before it goes on to its next file, so a sweep
// goes no faster than its callbacks, and one whose callback ends ctx
// stops at once. Unless given up on (below), Sweep returns once its callbacks have been
// called for everything it reported, those waiting when ctx ended
// included: a callback that blocks for ever keeps it from returning,
// whatever ctx. A panic in one is raised again in Sweep's caller, as Range does with
// fn's, once the sweep has stopped as it does when ctx ends (what it
// moved aside settled, its locks released); no callback is called after
// the first panic. Nor is one called after Sweep returned:
// what a sweep given up on (ErrUnavailable) still does once its stuck
// call returns is counted in Progress, and the callbacks it would have
// called are counted in a warning in the log when it ends, not called (a
// caller told the sweep is over may have closed what they write to).
func (s *Store) Sweep(ctx context.Context, opts SweepOptions) (SweepStats, error) {
	if err := s.usable(ctx); err != nil {
		return SweepStats{}, err
	}
	if err := s.refuseWrite("sweep"); err != nil {
		return SweepStats{}, err
	}
	return guardedScan(ctx, s, "sweep", func(ctx context.Context, cb *callbackGuard) (SweepStats, error) { return s.sweep(ctx, opts, cb) })
}

// callbackGuard catches a panic in a caller's callback run on a goroutine
// of the store's, where it would end the process out of reach of the
// caller's recover (net/http's, a middleware's), so that the call that
// took the callback raises it again in its caller. It keeps the first.
// It also tells a bounded scan's waiter when the scan runs its caller's
// code (see caller), and keeps the callbacks from running once the call
// has returned (see end).
type callbackGuard struct {
	mu  sync.Mutex
	p   any
	hit bool

	// run is held shared by each callback while it runs and taken by end,
	// which so waits for those under way. ended: under run.
	run     sync.RWMutex
	ended   bool
	dropped atomic.Int64 // callbacks not called because the call had returned

	inside atomic.Int32 // callbacks running
	left   atomic.Int64 // when one last returned, an opwatch.Now reading (0: never)
	// bounded: the scan runs on a bounded store, whose waiter reads
	// left (see caller). Elsewhere nobody does, and left is not kept: a
	// clock reading per callback, one per removal, is a system call where
	// the kernel maps no vDSO (a User-Mode Linux guest).
	bounded bool
}

// call runs f unless a callback panicked already or the call that took
// the callbacks has returned, and catches f's panic, calling stop then (to
// end the work early, as a context ending does).
func (g *callbackGuard) call(f func(), stop func()) {
	g.run.RLock()
	defer g.run.RUnlock()
	if g.ended {
		g.dropped.Add(1)
		return
	}
	if _, ok := g.panicked(); ok {
		return
	}
	g.inside.Add(1)
	defer func() {
		if g.bounded {
			g.left.Store(callerLeft()) // before inside: a reader seeing none inside sees this
		}
		g.inside.Add(-1)
		if p := recover(); p != nil {
			g.mu.Lock()
			if !g.hit {
				g.p, g.hit = p, true
			}
			g.mu.Unlock()
			stop()
		}
	}()
	f()
}

// end marks the call that took the callbacks returned, once those under
// way have: a bounded scan given up on (ErrUnavailable) goes on in the
// background, and its caller, told so, may close a channel or free what a
// callback uses. Range's fn is held so too.
func (g *callbackGuard) end() {
	g.run.Lock()
	g.ended = true
	g.run.Unlock()
}

func (g *callbackGuard) panicked() (any, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.p, g.hit
}

// caller is boundScan's: whether a callback is running, and when one last
// returned. The caller's own code, a slow OnRemove writing to a database
// of its own, is neither given up on once ctx has ended nor counted as a
// timeout of the server's.
func (g *callbackGuard) caller() (inside bool, since time.Duration) {
	return g.inside.Load() > 0, sinceCallerLeft(g.left.Load())
}

// callerLeft is the reading of the monotonic clock (opwatch.Now) that a
// scan notes when its caller's code returns, never 0 (no return yet). A
// wall clock reading, as it was, made a clock stepped back stretch the
// scan's wait for a stuck system call by the step.
func callerLeft() int64 { return max(opwatch.Now(), 1) }

// sinceCallerLeft is how long ago the caller's code returned, at the
// callerLeft reading left; for 0 (it never ran), longer than any ceiling.
func sinceCallerLeft(left int64) time.Duration {
	if left == 0 {
		return math.MaxInt64
	}
	return time.Duration(opwatch.Now() - left)
}

// guardedScan runs walk, whose callers' callbacks cb guards, as boundScan
// does, and raises a callback's panic in its caller once walk has stopped.
// No callback runs after guardedScan returned: those of a scan given up on
// that reaches them later are dropped, and their number logged when the
// scan ends.
func guardedScan[T any](ctx context.Context, s *Store, what string, walk func(context.Context, *callbackGuard) (T, error)) (T, error) {
	cb := &callbackGuard{bounded: s.bnd != nil}
	st, err := boundScan(ctx, s, what, cb.caller, func(ctx context.Context) (T, error) {
		v, err := walk(ctx, cb)
		if n := cb.dropped.Load(); n > 0 {
			s.cfg.logger.Warn(what+": the scan ended after its caller was answered; its callbacks for what it did meanwhile were not called",
				"dropped", n, "err", err)
		}
		return v, err
	})
	cb.end()
	if p, ok := cb.panicked(); ok {
		panic(p)
	}
	return st, descriptorsHint(err)
}

func (s *Store) sweep(ctx context.Context, opts SweepOptions, cb *callbackGuard) (SweepStats, error) {
	start := time.Now()
	if s.closed.Load() {
		return SweepStats{}, ErrClosed
	}
	// A panic in a callback ends the sweep as ctx's end would.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := walkDefaults("sweep", "SweepOptions", &opts.Concurrency, &opts.TempAge, &opts.Grace); err != nil {
		return SweepStats{}, err
	}
	if opts.Rate < 0 || math.IsNaN(opts.Rate) {
		return SweepStats{}, fmt.Errorf("fsstore: sweep: SweepOptions.Rate %v is negative or not a number", opts.Rate)
	}
	markerStart := time.Now()
	m, err := s.readMarker()
	if err == nil && m.maxIdle < time.Duration(s.ownIdle.Load()) {
		// The marker went below an idle timeout this process has written
		// records with: lowered by hand while this process ran, or a raise
		// lost to a host that lost the marker's lock mid-write. Put it back
		// for the sweepers that trust it alone.
		s.cfg.logger.Warn("sweep: the store's max idle is below one in use here; raising it",
			"marker", m.maxIdle, "in_use", time.Duration(s.ownIdle.Load()))
		m, err = s.raiseMaxIdle(ctx, time.Duration(s.ownIdle.Load()))
	}
	if err != nil {
		return SweepStats{}, fmt.Errorf("fsstore: sweep: %w", err)
	}
	clock, err := newServerClock(s.dir)
	if s.cfg.fakeClock {
		// Read at every look, as Save and Touch read it: a test's clock
		// moved while the sweep runs is a sweep that ran that long.
		clock = serverClock{fake: s.cfg.now}
	}
	if err != nil {
		return SweepStats{}, fmt.Errorf("fsstore: sweep: %w", err)
	}
	sw := &sweeper{sweepRun: &sweepRun{s: s, opts: opts, clock: clock, stripeMu: make([]sync.Mutex, s.layout.stripes),
		SweepProgress: opts.Progress, cachedFirst: s.lookCachedFirst(), cb: cb, stop: cancel, closed: scanClosed{stop: cancel},
		readOnly: s.scanReadOnly(cancel, opts.DryRun), failing: scanFailing{stop: cancel, limit: s.testHooks.failingRun}, events: newSweepEvents()}}
	// The clock's reading when the marker was read: no later than the read.
	sw.lim.raise(m, opts.Grace, clock.now().Add(-time.Since(markerStart)))
	if sw.SweepProgress == nil {
		sw.SweepProgress = new(SweepProgress)
	}
	if opts.Rate > 0 {
		sw.limit = newLimiter(opts.Rate, s.closing)
	}
	// Temp files a crashed Open or Sweep left in the store directory.
	// A removal's wait for its Rate that ends (the caller's context, the
	// store's Close) ends the sweep, as in the shards: its end was
	// dropped, and the sweep went on to the next file and the shards
	// after Close had returned, ending, if at all, at a later step's
	// failure on the closed store (TestRateWaitEndsAtCloseEveryWhere).
	var topErr error
	err = s.root.forEachEntry(ctx, s.dir, func(e fs.DirEntry) {
		if topErr != nil {
			return
		}
		switch {
		case isTemp(e):
			topErr = sw.temp(ctx, nil, s.dir, e.Name())
		case foreignAtRoot(e):
			sw.foreignFile(filepath.Join(s.dir, e.Name()))
		}
	})
	if err == nil {
		err = topErr
	}
	if err == nil {
		err = s.walkShardsBetween(ctx, opts.Concurrency, sw.dir, sw.between, func(dir string, err error) error {
			sw.fail(fmt.Errorf("sweep %s: %w", dir, err))
			return nil
		})
	}
	if err == nil {
		err = sw.locks(ctx)
	}
	err = sw.failing.result(sw.readOnly.result(sw.closed.result(err), "removal"))
	sw.release()
	// Every lock released: a callback that blocks holds up no one else.
	sw.events.close()
	st := sw.Stats()
	st.Duration = time.Since(start)
	s.cfg.logger.Info("sweep done", "removed", st.Removed(), "sessions", st.Sessions, "temps", st.Temps,
		"leases", st.Leases, "bytes", st.Bytes, "live", st.Live, "live_bytes", st.LiveBytes, "restored", st.Restored, "errors", st.Errors, "duration", st.Duration, "dry_run", opts.DryRun)
	if errors.Is(err, ErrClosed) {
		return st, stoppedByClose("sweep", err)
	}
	if err != nil {
		return st, fmt.Errorf("fsstore: sweep: %w", err)
	}
	return st, nil
}

// addAge adds two non-negative ages, saturating instead of wrapping: a
// huge Grace means "keep everything", and a sum wrapped negative would make
// every record look expired.
func addAge(a, b time.Duration) time.Duration {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// walkDefaults fills in and checks the options Sweep and Stats share.
func walkDefaults(op, optsType string, concurrency *int, tempAge, grace *time.Duration) error {
	if *concurrency == 0 {
		*concurrency = 1
	}
	if *tempAge == 0 {
		*tempAge = 10 * time.Minute
	}
	if *grace == 0 {
		*grace = time.Minute
	}
	// Named as the caller wrote them: Sweep's SweepOptions.Grace, Stats'
	// StatsOptions.Grace.
	switch {
	case *concurrency < 1 || *concurrency > 64:
		return fmt.Errorf("fsstore: %s: %s.Concurrency %d is outside 1..64; 0 selects 1", op, optsType, *concurrency)
	case *tempAge < 0:
		return fmt.Errorf("fsstore: %s: %s.TempAge %v is negative; 0 selects the default", op, optsType, *tempAge)
	case *grace < 0:
		return fmt.Errorf("fsstore: %s: %s.Grace %v is negative; 0 selects the default", op, optsType, *grace)
	}
	return nil
}

// serverClock tells the file server's time: the mtime of a file it just
// created, advanced by the local monotonic clock since; or, with fake
// set, a store's replaced clock (WithClock).
type serverClock struct {
	base  time.Time
	start time.Time
	fake  func() time.Time
}

// newServerClock reads the file server's time in dir (on a full file
// system or quota, from dir's own mtime: see touchedClock). Its errors say what
// the temp file was for: on a read-only or full disk its name is what
// fails, and it is no file the operator knows. They match
// ErrNoServerClock, whatever the cause, so that a caller that may judge
// by this host's clock instead (sessgc stats) knows this failure from
// the census's.
func newServerClock(dir string) (serverClock, error) {
	p := filepath.Join(dir, tempPrefix+"clock-"+randHex(8))
	start := time.Now()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil && isNoSpace(err) {
		// A full file system or quota takes no new file, but still an
		// attribute change: the top directory's mtime set to now, by the
		// server's clock on NFS (SET_TO_SERVER_TIME), as creating the
		// temp file would have set it. A sweep is what frees the space.
		if c, terr := touchedClock(dir); terr == nil {
			return c, nil
		}
	}
	if err != nil {
		return serverClock{}, fmt.Errorf("%w (a temp file at the store's top tells it): %w", ErrNoServerClock, err)
	}
	st, err := f.Stat()
	f.Close()
	os.Remove(p)
	if err != nil {
		return serverClock{}, fmt.Errorf("%w (a temp file at the store's top tells it): %w", ErrNoServerClock, err)
	}
	return serverClock{base: st.ModTime(), start: start}, nil
}

// touchedClock reads the file server's time from dir's own mtime, set to
// now, for a file system too full to create newServerClock's temp file.
func touchedClock(dir string) (serverClock, error) {
	start := time.Now()
	if err := touchNow(dir); err != nil {
		return serverClock{}, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return serverClock{}, err
	}
	return serverClock{base: fi.ModTime(), start: start}, nil
}

// isNoSpace reports whether err is a full file system or quota (ENOSPC,
// EDQUOT).
func isNoSpace(err error) bool {
	o, ok := osOutcome(err)
	return ok && o == OutcomeNoSpace
}

// hostClock is a serverClock that reads this host's clock, for a store
// opened WithReadOnly, which may create no file to read the server's.
func hostClock() serverClock {
	now := time.Now()
	return serverClock{base: now, start: now}
}

func (c serverClock) now() time.Time {
	if c.fake != nil {
		return c.fake()
	}
	return c.base.Add(time.Since(c.start))
}

// scanClosed ends a scan at its first error matching ErrClosed: a store
// closed under a scan fails every shard and file left, and each reported
// as a file error (counted, passed to OnError) buried the one cause; the
// scan returned nil unless its last step came after the close. The scan
// returns that error instead (result).
type scanClosed struct {
	stop context.CancelFunc // ends the scan's context
	mu   sync.Mutex
	err  error // under mu: the first error matching ErrClosed
}

// end reports whether err matches ErrClosed; if so, the scan ends with it.
func (c *scanClosed) end(err error) bool {
	if !errors.Is(err, ErrClosed) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		c.stop()
	}
	return true
}

// result is the close that ended the scan, or else err: once end stopped
// the scan, the walk's own error is the context's end.
func (c *scanClosed) result(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return err
}

// scanReadOnly ends a scan that writes (a sweep, a rekey) at its first
// failure matching a read-only file system (EROFS; on Windows, a
// write-protected volume): a mount turned read-only under it (ext4's
// errors=remount-ro after a disk error, an NFS or EFS mount remounted ro)
// refuses every write left alike, and the scan reported one error for
// each file left (35,775 in a pass over 40,000 expired records), burying
// the one cause. That first failure is counted and reported as usual; the
// scan returns it (result).
//
// A read-only mount may cover part of the store only (a read-only bind
// mount over one shard directory or over locks/): the error then names
// the directory refused and says that the store's data directory takes
// writes, where it said the file system was read-only, and the operator
// was sent to remount what was writable. The scan stops there all the
// same: it cannot tell how much of the store that mount covers, and each
// write under it would be refused alike; nothing it refused was changed.
type scanReadOnly struct {
	stop context.CancelFunc // ends the scan's context
	top  string             // the store's data directory, whose mount is the store's
	// probe writes a file in top and removes it (Store.writeProbe):
	// access(2) does not tell, as ext4 turned read-only after an error
	// refuses writes that the mount's flags still allow.
	probe func() error
	mu    sync.Mutex
	err   error  // under mu: the first failure of a read-only file system
	part  string // under mu: with err, the path refused, when top takes writes
	full  error  // under mu: with part, the test write's ENOSPC or EDQUOT, when top's file system is full
}

// end ends the scan if err is a read-only file system's refusal, and
// reports whether an earlier one did: then err is one more of the same
// cause (the files a sweep had moved aside before it stopped, whose
// unlinks fail too), which the caller neither counts nor reports. Those
// stay aside, where a Load reads them and the next sweep settles them.
func (r *scanReadOnly) end(err error) (again bool) {
	if !isReadOnly(err) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return true
	}
	r.err = err
	r.stop()
	if r.probe != nil {
		// A full file system or quota (ENOSPC, EDQUOT) takes writes: a
		// read-only one refuses the test write before it looks for
		// room. It said "the file system is read-only", sending the
		// operator to remount one that is only full.
		switch perr := r.probe(); {
		case perr == nil:
			r.part = refusedPath(r.top, err)
		case isNoSpace(perr):
			r.part, r.full = refusedPath(r.top, err), perr
		}
	}
	return false
}

// result is the scan's error err (after scanClosed.result), or, once end
// stopped the scan, the refusal that stopped it, when the store's close
// did not end the scan first: the walk's own error is then its context's
// end. what names the scan's writes ("removal", "rewrite").
func (r *scanReadOnly) result(err error, what string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	if r.part != "" && r.full != nil {
		// The errno alone: the test write's whole error repeats the
		// data directory and a temp file's name.
		why := r.full
		if errno := syscall.Errno(0); errors.As(r.full, &errno) {
			why = errno
		}
		return fmt.Errorf("stopped: %s is on a mount that is read-only on this host, while the store's data directory %s is on a file system that takes writes but is full (a test write there failed: %v; df -h and df -i tell blocks from inodes): a read-only mount over part of the store (findmnt -T %s names it), which would refuse every %s under it: %w",
			r.part, r.top, why, r.part, what, r.err)
	}
	if r.part != "" {
		return fmt.Errorf("stopped: %s is on a mount that is read-only on this host, while the store's data directory %s takes writes: a read-only mount over part of the store (findmnt -T %s names it), which would refuse every %s under it: %w",
			r.part, r.top, r.part, what, r.err)
	}
	return fmt.Errorf("stopped: the file system is read-only on this host, and would refuse every %s left: %w", what, r.err)
}

// scanFailing ends a scan when the storage itself fails (EIO, ESTALE)
// over more than one directory: FailingIODirs directories failing (see
// dirIO), FailingIORun I/O errors among them. A dying disk fails every
// file, each after the disk's own retries, and an NFS server replaced
// under the mount (every file handle stale) fails every one at once; a
// scan went on through each file left, one error each. The rule looks at
// each directory on its own, as one worker scans it from start to end,
// so that the same store gives the same outcome whatever the concurrency
// and the order of the shards: counted across workers, a healthy shard's
// file examined by one worker broke another's run, and one damaged shard
// among healthy ones stopped a pass or not by the scheduler's whim. The
// counts only grow, so a pass that runs to its end stops, or not, alike
// every time; one cut short (a time budget, a signal) may end before it
// reaches the directories that would stop it.
type scanFailing struct {
	stop context.CancelFunc // ends the scan's context
	mu   sync.Mutex
	dirs int64 // under mu: directories failing
	errs int64 // under mu: I/O errors in them
	err  error // under mu: the failure that ended the scan
	// limit replaces FailingIORun where not 0 (tests).
	limit int64
}

// dirIO is what one worker knows of the shard directory it scans, written
// by that worker alone, so that a file examined costs it no shared write.
// The shard is failing when its listing failed with an I/O error, or
// FailingIORun of its files in a row failed with one, or it ended with
// I/O errors and no file examined: what its own files and its listing's
// order say, whichever worker meets it when.
type dirIO struct {
	run      int64 // I/O errors in a row
	errs     int64 // I/O errors
	examined bool  // a file answered (ok)
	listing  bool  // the listing failed
	failing  bool  // counted in scanFailing
	last     error // the last I/O error
}

// ioFailure reports whether err is the storage's failure rather than a
// file's (a permission, a corrupt record).
func ioFailure(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ESTALE)
}

// ok records a file examined: the failures before it were not in a row.
func (d *dirIO) ok() {
	d.run = 0
	d.examined = true
}

func (f *scanFailing) runLimit() int64 {
	if f.limit != 0 {
		return f.limit
	}
	return FailingIORun
}

// end counts err, a failure the caller counts and reports, met in the
// directory d (nil: a directory above the shards, each failure of which
// counts as a failing directory of its own), and
// ends the scan once the failing directories are a storm; it reports
// whether an earlier failure ended it already: then err is one more of
// the same cause (another worker's), which the caller neither counts nor
// reports.
func (f *scanFailing) end(d *dirIO, err error) (again bool) {
	if !ioFailure(err) {
		if d != nil {
			d.ok() // a file's own failure: the storage answered
		}
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return true
	}
	switch {
	case d == nil:
		f.dirs++
		f.errs++
	case d.failing:
		f.errs++
	default:
		d.run++
		d.errs++
		d.last = err
		if d.run < f.runLimit() {
			return false
		}
		d.failing = true
		f.dirs++
		f.errs += d.errs
	}
	f.check(err)
	return false
}

// endDir judges d at the end of its directory's scan: one whose listing
// failed, or whose every answer was an I/O error, is failing. A scan cut
// short (ctx ended) is not judged: what it did not reach is unknown.
func (f *scanFailing) endDir(ctx context.Context, d *dirIO) {
	if d.failing || d.errs == 0 || d.examined && !d.listing || ctx.Err() != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return
	}
	d.failing = true
	f.dirs++
	f.errs += d.errs
	f.check(d.last)
}

// check ends the scan, under f.mu, once the failing directories make a
// storm; err is the last failure, which the scan's error reports.
func (f *scanFailing) check(err error) {
	if f.dirs >= FailingIODirs && f.errs >= f.runLimit() {
		f.err = err
		f.stop()
	}
}

// result is the scan's error err (after the other stops' results), or,
// once end stopped the scan, the failure that stopped it.
func (f *scanFailing) result(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil || err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("stopped: %w: %d directories failing with I/O errors, %d errors in them (a directory fails when its listing does, when %d of its files in a row do, or when every file in it does): a dying disk (the kernel log, dmesg, says), or an NFS server replaced or its export moved (every file handle stale: remount); the last: %w",
		ErrFailingIO, f.dirs, f.errs, f.runLimit(), f.err)
}

// scanReadOnly returns the scanReadOnly of a scan of s ended by stop.
// A dry run's (dryRun) asks the kernel whether the data directory takes
// writes (access(2)) rather than writing in it: a dry run changes
// nothing; the refusal that stopped it is access(2)'s answer for the
// directory refused (SweepOptions.DryRun), so the two answers agree.
func (s *Store) scanReadOnly(stop context.CancelFunc, dryRun bool) scanReadOnly {
	probe := func() error { return s.writeProbe(false) }
	if dryRun {
		probe = func() error { return dirWritable(s.dataDir) }
	}
	return scanReadOnly{stop: stop, top: s.dataDir, probe: probe}
}

// walkShards calls fn for every leaf shard directory, from workers
// goroutines. It only descends into real directories named like shards,
// never through a symlink: a sweep may run as root and must not be led out
// of the store. Other entries of the directories above the leaves are
// passed to between, when not nil.
func (s *Store) walkShards(ctx context.Context, workers int, fn func(ctx context.Context, dir string) error) error {
	return s.walkShardsBetween(ctx, workers, fn, nil, nil)
}

// Descriptors a walk counts on. Each worker holds its shard directory open
// and, while it judges a file, the file or the session's lock file, and
// the session's lock while it removes the file: walkPerWorker. The walk
// itself holds the directories above the leaves, and the caller writes its
// output (a textfile, a log): walkReserve. The store's lock tables keep up
// to a quarter of the limit open as a cache (lock.Config's MaxOpen), which
// a long walk fills.
const (
	walkPerWorker = 3
	walkReserve   = 8
	// walkAssumedOpen stands for the descriptors already open where
	// openDescriptors cannot count them: the standard streams, the
	// store's directories, the fleet lock, the runtime's own.
	walkAssumedOpen = 16
)

// walkWorkers returns how many of the workers asked (>= 1) a walk may run
// under the process's descriptor limit, never fewer than one, and that
// limit. With 64 workers under a ulimit -n of 16 to 30 (a container's, a
// cron job's), every worker beyond the first few failed to open its shard
// directory (EMFILE): one error per shard, the sweep incomplete. A walk of
// fewer workers does all of its work, more slowly.
func walkWorkers(workers int) (n, limit int) {
	limit = fdlimit.Soft()
	if limit >= 1<<20 || workers <= 1 {
		return workers, limit
	}
	open, ok := openDescriptors()
	if !ok {
		open = walkAssumedOpen
	}
	return fitWorkers(workers, limit, open), limit
}

// fitWorkers returns how many of workers fit under a descriptor limit with
// open descriptors already open: at least one.
func fitWorkers(workers, limit, open int) int {
	free := limit - open - limit/4 - walkReserve
	return max(1, min(workers, free/walkPerWorker))
}

// walkShardsBetween is walkShards with a callback for the entries of the
// directories above the leaves, and one for a shard directory above the
// leaves (depth 2 and more) that cannot be opened or listed: dirErr, when
// not nil, reports it and the walk goes on with the other shards, as the
// walk's callers do for a leaf they cannot list, unless dirErr returns an
// error. One unreadable directory is not an unusable store: without
// dirErr a sweep of a depth-2 store stopped as a whole, after it had
// swept other shards, at the first such directory. An error listing the
// data directory itself always ends the walk.
func (s *Store) walkShardsBetween(ctx context.Context, workers int, fn func(ctx context.Context, dir string) error,
	between func(ctx context.Context, dir string, e fs.DirEntry) error, dirErr func(dir string, err error) error) error {
	if n, limit := walkWorkers(workers); n < workers {
		s.cfg.logger.Warn("fsstore: the process's open-file limit (RLIMIT_NOFILE, ulimit -n) is too low for the concurrency asked: walking fewer shard directories at once; raise the limit for more",
			"limit", limit, "concurrency", workers, "workers", n)
		workers = n
	}
	dirs := make(chan string)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range dirs {
				if err := fn(ctx, d); err != nil {
					fail(err)
				}
			}
		}()
	}
	var produce func(dir string, level int) error
	produce = func(dir string, level int) error {
		if level == s.layout.shardDepth {
			select {
			case dirs <- dir:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		failed := func(err error) error {
			if level == 0 || dirErr == nil || ctx.Err() != nil {
				return err
			}
			return dirErr(dir, err)
		}
		f, err := s.root.openDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // shards are created on first use
		}
		if err != nil {
			return failed(err)
		}
		defer f.Close()
		ents, err := f.ReadDir(-1) // 256 shards, plus the odd temp file
		if err != nil {
			return failed(hideEntry(dir, err))
		}
		if level == 0 && len(ents) > 1 {
			// Start at a random shard, so that sweeps cut short by a time
			// budget still reach every shard over several runs.
			r := rand.N(len(ents))
			ents = append(ents[r:], ents[:r]...)
		}
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() && len(n) == 2 && isRecordName(n+"000000000000000000000000000000") {
				if err := produce(filepath.Join(dir, n), level+1); err != nil {
					return err
				}
			} else if between != nil {
				if err := between(ctx, dir, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := produce(s.dataDir, 0)
	close(dirs)
	wg.Wait()
	if err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// forEachEntry streams a directory's entries in batches, so memory does not
// depend on the directory's size.
func (r *rootDir) forEachEntry(ctx context.Context, dir string, fn func(fs.DirEntry)) error {
	f, err := r.openDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := f.ReadDir(512)
		for _, e := range ents {
			fn(e)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return hideEntry(dir, err)
		}
	}
}

// sweepLock names the lock, in the store's lock directory, that one Sweep
// at a time holds.
const sweepLock = "sweep"

// sweeper is a sweep as one of its workers sees it: the sweep's state,
// shared, and the shard directory the worker scans (nil outside the
// shards), whose I/O errors the stop rule counts apart (scanFailing).
type sweeper struct {
	*sweepRun
	shard *dirIO
}

// inShard returns the sweeper of a worker that scans one shard directory.
func (sw *sweeper) inShard() *sweeper {
	return &sweeper{sweepRun: sw.sweepRun, shard: new(dirIO)}
}

// sweepRun is a sweep's state, shared by its workers.
type sweepRun struct {
	s     *Store
	opts  SweepOptions
	clock serverClock
	limMu sync.Mutex
	lim   sweepLimits // under limMu; see limits
	limit *limiter
	// one per lock stripe: workers queue here, not on the lock
	stripeMu []sync.Mutex
	// cachedFirst: judge records by the client's cached attributes first
	// (see judge, Store.lookCachedFirst).
	cachedFirst bool

	*SweepProgress // the counts: the caller's (SweepOptions.Progress), or the sweep's own

	exclMu sync.Mutex
	excl   *lock.Handle // sweepLock, once the sweep moves a record aside

	cb       *callbackGuard // runs OnRemove, OnError and OnForeign
	events   *sweepEvents   // delivers the callbacks, holding no lock of the sweep's
	stop     func()         // ends the sweep early: a callback panicked
	closed   scanClosed     // ends the sweep at the store's close
	readOnly scanReadOnly   // ends the sweep at its first removal refused as read-only
	failing  scanFailing    // ends the sweep at a run of I/O errors

	bufs sync.Pool // *[]byte of direntBufSize: listing buffers, one per worker at a time (see listBuf)

	dryDirs sync.Map // dry run: directory -> *dryDir, asked once
}

// dryDir is what a dry run knows of a directory it would remove files
// from: whether it may write it (dirWritable), and its attributes, whose
// sticky bit may still keep it from removing a file (stickyDenied).
type dryDir struct {
	err  error
	info fs.FileInfo // nil where err is set, or the directory could not be looked at
}

// sweepLimits is what the sweep judges records by, from the marker.
type sweepLimits struct {
	// liveFor: a record younger is live (the marker's max idle plus
	// Grace). expireAfter: a record older is expired whatever its header
	// says (the largest max idle the marker ever held, plus Grace).
	liveFor, expireAfter time.Duration
	maxIdle              time.Duration // the marker's, when read
	read                 time.Time     // the sweep clock's reading before the marker was read
}

// raise takes in the marker m, read after the sweep clock showed at:
// the limits only grow within a sweep (a marker lowered meanwhile can
// wait for the next).
func (l *sweepLimits) raise(m marker, grace time.Duration, at time.Time) {
	l.liveFor = max(l.liveFor, addAge(m.maxIdle, grace))
	l.expireAfter = max(l.expireAfter, addAge(max(m.everIdle, m.maxIdle), grace))
	l.maxIdle = max(l.maxIdle, m.maxIdle)
	l.read = at
}

// limits returns the limits to judge records by at now, a reading of the
// sweep clock (see rereadLimits).
func (sw *sweeper) limits(now time.Time) (sweepLimits, error) {
	return sw.s.rereadLimits(&sw.limMu, &sw.lim, sw.opts.Grace, now)
}

// rereadLimits returns *lim, the limits a scan (Sweep, Stats) judges
// records by at now, a reading of its clock, reading the marker again
// when the last reading is older than its max idle at now; mu guards
// lim. A record whose idle timeout the marker did
// not cover when the sweep began is written after a process raised the
// marker (Store.ensureMaxIdle). The sweep judges a
// record expired only when it is older than liveFor, so a marker read
// less than that before now was read after the record's last write and
// shows the raise: without the new reading, a sweep that ran longer than
// the marker's max idle (paced by Rate over a large store, or held up by
// a file server that stopped answering) removed live records written
// with a longer idle timeout after it began, and Stats counted them
// expired. The max idle, not liveFor,
// leaves Grace for the server's clock to drift from the sweep's. A
// scan shorter than the max idle, as most are, reads it once.
func (s *Store) rereadLimits(mu *sync.Mutex, lim *sweepLimits, grace time.Duration, now time.Time) (sweepLimits, error) {
	mu.Lock()
	defer mu.Unlock()
	if now.Sub(lim.read) < lim.maxIdle {
		return *lim, nil
	}
	m, err := s.readMarkerReplaced()
	if err != nil {
		return sweepLimits{}, fmt.Errorf("read the marker again: %w", err)
	}
	lim.raise(m, grace, now)
	return *lim, nil
}

// listBuf returns a buffer for forEachName, reused from shard to shard;
// put it back in sw.bufs after the listing.
func (sw *sweeper) listBuf() *[]byte {
	if b, ok := sw.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, direntBufSize)
	return &b
}

// exclusive takes the store's sweep lock, once per sweep, before the first
// record is moved aside: two sweeps moving the same record aside would
// replace each other's aside file, where one of them may hold a fresh
// record it is about to put back. A sweep that removes nothing does not
// take it.
func (sw *sweeper) exclusive(ctx context.Context) error {
	sw.exclMu.Lock()
	defer sw.exclMu.Unlock()
	if sw.excl != nil {
		return nil
	}
	h, err := sw.s.locks.Lock(ctx, sweepLock, sweepLock, lock.Exclusive)
	if err != nil {
		return fmt.Errorf("sweep lock: %w", closedLock(err))
	}
	sw.excl = h
	return nil
}

func (sw *sweeper) release() {
	sw.exclMu.Lock()
	defer sw.exclMu.Unlock()
	if sw.excl != nil {
		sw.s.unlockLogged(sw.excl, "sweep", "")
		sw.excl = nil
	}
}

// unlockLogged releases h, a lock the store's own maintenance took (the
// sweep lock, a record's lock in a rekey), and logs a warning when the
// release fails, which its caller has no one to tell: the work done under
// it stands (the sweep settles what it moved aside, a rekey verifies its
// lock before it publishes), but a lease lost or taken over while held
// means another process judged the holder dead (a host stopped or
// starved for longer than the lease) and may have run the same work
// meanwhile, which an operator should hear of. An error went unheard.
// what names the work, file the record it was for ("" for none).
func (s *Store) unlockLogged(h *lock.Handle, what, file string) {
	err := h.Unlock()
	if err == nil {
		return
	}
	msg := "fsstore: " + what + ": releasing its lock failed; what it did under the lock stands, but the lock may have been lost while held (a host stopped or starved for longer than the lease), and another process may have done the same work meanwhile"
	if file != "" {
		s.cfg.logger.Warn(msg, "dir", s.dir, "file", file, "err", err)
		return
	}
	s.cfg.logger.Warn(msg, "dir", s.dir, "err", err)
}

func (sw *sweeper) fail(err error) {
	if sw.closed.end(err) {
		// Whatever it left aside, Load reads there and the next sweep
		// puts back: logged, for the operator who looks.
		sw.s.cfg.logger.Debug("sweep: stopped by the store's close", "err", err)
		return
	}
	if sw.readOnly.end(err) {
		sw.s.cfg.logger.Debug("sweep: stopped by a read-only file system", "err", err)
		return
	}
	if sw.failing.end(sw.shard, err) {
		sw.s.cfg.logger.Debug("sweep: stopped by a run of I/O errors", "err", err)
		return
	}
	err = descriptorsHint(err)
	sw.errs.Add(1)
	f := sw.opts.OnError
	sw.events.post(func() {
		sw.s.cfg.logger.Warn("sweep: file skipped", "err", err)
		if f != nil {
			sw.cb.call(func() { f(err) }, sw.stop)
		}
	})
}

// ok records a file examined in the worker's shard.
func (sw *sweeper) ok() {
	if sw.shard != nil {
		sw.shard.ok()
	}
}

func (sw *sweeper) removed(r Removal, counter *atomic.Int64) {
	if sw.opts.DryRun {
		// What the real sweep could not remove (a directory this user
		// may not write, a read-only mount) is its error, with its path,
		// and the dry run's too: it said it would remove what the real
		// run then failed to. Asked once per directory, and in a sticky
		// one of another user's, of each file.
		dir := filepath.Dir(r.Path)
		v, ok := sw.dryDirs.Load(dir)
		if !ok {
			d := &dryDir{err: dirWritable(dir)}
			if d.err == nil {
				d.info, _ = os.Lstat(dir) // for its sticky bit
			}
			v, _ = sw.dryDirs.LoadOrStore(dir, d)
		}
		d := v.(*dryDir)
		err := d.err
		if err == nil {
			err = stickyDenied(d.info, r.Path)
		}
		if err != nil {
			sw.fail(&fs.PathError{Op: "remove", Path: r.Path, Err: err})
			return
		}
	}
	sw.ok()
	counter.Add(1)
	sw.bytes.Add(r.Size)
	o, f := sw.s.cfg.observer, sw.opts.OnRemove
	if o == nil || sw.opts.DryRun {
		o = nil
		if f == nil {
			return
		}
	}
	sw.events.post(func() {
		if o != nil {
			// On a goroutine of the sweep's: a panic is logged (onOwn),
			// the sweep goes on; OnRemove is the caller's, raised in
			// Sweep's caller (callbackGuard).
			sw.s.onOwn(ownSweep, func() { o.Observe(Event{Op: OpSweepRemove, Outcome: OutcomeOK, Bytes: int(r.Size), Kind: r.Kind}) }, "op", OpSweepRemove.String())
		}
		if f != nil {
			sw.cb.call(func() { f(r) }, sw.stop)
		}
	})
}

// foreignFile counts the file or directory at path as foreign, and
// passes it to OnForeign.
func (sw *sweeper) foreignFile(path string) {
	sw.foreign.Add(1)
	if f := sw.opts.OnForeign; f != nil {
		sw.events.post(func() { sw.cb.call(func() { f(path) }, sw.stop) })
	}
}

// between handles entries of the directories above the leaf shards: only
// temp files (of Open's writability probe) are the store's there.
func (sw *sweeper) between(ctx context.Context, dir string, e fs.DirEntry) error {
	if err := sw.events.wait(ctx); err != nil {
		return err
	}
	if isTemp(e) {
		return sw.temp(ctx, nil, dir, e.Name())
	}
	if err := shardNameTaken(dir, e); err != nil {
		sw.fail(err)
		return nil
	}
	sw.foreignFile(filepath.Join(dir, e.Name()))
	return nil
}

// sweepBatch is the most expired records a worker judges before it moves
// them aside: on NFS a batch is checked with one listing.
const sweepBatch = 256

// candidate is a record judged expired from its directory entry.
type candidate struct {
	name string
	st   fileStat
}

func (sw *sweeper) dir(ctx context.Context, dir string) error {
	sw = sw.inShard()
	defer func() { sw.failing.endDir(ctx, sw.shard) }()
	// One open serves the scan's listing and the calls on its names.
	sd, err := sw.s.root.openShardToList(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		sw.shard.listing = ioFailure(err)
		sw.fail(fmt.Errorf("sweep %s: %w", dir, err))
		return nil
	}
	defer sd.close()
	var (
		ctxErr error
		batch  []candidate
		n      int
		// Counted here and added in batches (flush): workers adding to
		// shared counters per file would contend for their cache line.
		scanned, live, liveBytes int64
		back                     putBacks
		// The server's time, read once per 64 entries rather than per
		// entry: in a guest without a vDSO (User-Mode Linux) each read
		// is a system call that doubled the scan's CPU time. A reading
		// older than the stat it judges can only make a record look
		// younger, so staleness keeps records, never removes them.
		now = sw.clock.now()
		// With each reading of now, the marker's limits for it.
		lim, limErr = sw.limits(now)
	)
	if limErr != nil {
		sw.fail(fmt.Errorf("sweep %s: %w", dir, limErr))
		return nil
	}
	// Before each batch of removals too, which is where a hung file
	// server stops a sweep: one given up on then reports what it saw.
	flush := func() {
		sw.scanned.Add(scanned)
		sw.live.Add(live)
		sw.liveBytes.Add(liveBytes)
		scanned, live, liveBytes = 0, 0, 0
	}
	defer flush()
	// The records this shard may hold start with its name's hex digits.
	prefix, inShard := shardPrefix(sw.s.dataDir, dir, sw.s.layout.shardDepth)
	// name is the listing's, valid during the call only: a string is
	// made of it only where one is kept or leaves the scan (a candidate,
	// a record or file handed on), so that a live record, most of a
	// store, costs the scan no allocation.
	visit := func(name []byte, typ fs.FileMode) {
		if ctxErr != nil {
			return
		}
		// Between files, holding no lock: the callbacks catch up.
		if ctxErr = sw.events.wait(ctx); ctxErr != nil {
			return
		}
		if n++; n%64 == 0 {
			if err := ctx.Err(); err != nil {
				ctxErr = err
				return
			}
			now = sw.clock.now()
			if lim, ctxErr = sw.limits(now); ctxErr != nil {
				return
			}
			flush()
		}
		if back.has(name) {
			// Put back by this pass, which counted it then: a file
			// system may list a name created during a listing, and the
			// listing is read in chunks.
			return
		}
		scanned++
		switch {
		case !typ.IsRegular():
			sw.foreignFile(filepath.Join(dir, string(name))) // directories, symlinks: not ours to remove
		case inShard && isRecordNameBytes(name) && len(prefix) <= len(name) && string(name[:len(prefix)]) == prefix:
			var c candidate
			var ok bool
			if c, ok, ctxErr = sw.judge(ctx, sd, name, now, lim, &live, &liveBytes, &back); ok {
				batch = append(batch, c)
				if len(batch) == sweepBatch {
					flush()
					ctxErr = sw.removeBatch(ctx, sd, batch, &back)
					batch = batch[:0]
					now = sw.clock.now()
					if ctxErr == nil {
						lim, ctxErr = sw.limits(now)
					}
				}
			}
		case inShard && isAsideOf(string(name), prefix):
			ctxErr = sw.pending(ctx, dir, string(name), &back)
		case isTempName(string(name)):
			ctxErr = sw.temp(ctx, &sd, dir, string(name))
		default:
			sw.foreignFile(filepath.Join(dir, string(name)))
		}
	}
	buf := sw.listBuf()
	err = sw.s.root.forEachShardName(ctx, sd, *buf, visit)
	sw.shard.listing = ioFailure(err)
	sw.bufs.Put(buf)
	if h := sw.s.testHooks.relisted; h != nil && err == nil {
		for _, e := range h(dir) {
			visit([]byte(e.Name()), e.Type())
		}
	}
	if err == nil {
		err = ctxErr
	}
	if err == nil && len(batch) > 0 {
		flush()
		err = sw.removeBatch(ctx, sd, batch, &back)
	}
	if err != nil && ctx.Err() == nil {
		sw.fail(fmt.Errorf("sweep %s: %w", dir, err))
		return nil
	}
	return err
}

// lostWrite reports whether a file at a record's name, whose first bytes
// are head, is what a power loss leaves of a record saved without fsync
// (DurabilityNone, the default): the rename reached the disk, the data did
// not, so the file is empty or its first blocks were allocated but never
// written and read as zeros. Such a record has no header to judge it by;
// the sweep removes it once it is older than the marker's idle timeout,
// like any session, instead of keeping it forever as a foreign file.
func lostWrite(head []byte, size int64) bool {
	if size == 0 {
		return true
	}
	if len(head) < 4 {
		return false
	}
	for _, b := range head {
		if b != 0 {
			return false
		}
	}
	return true
}

// sizeOfRecord reports whether a file of size bytes can be a record, or
// what a power loss leaves of one: a record is never shorter than its
// header, and a lost write is empty or the record's full size.
func sizeOfRecord(size int64) bool { return size == 0 || size >= record.HeaderSize }

// startsLikeRecord reports whether a file of size bytes whose first bytes
// are head is a record, or what a power loss leaves of one (lostWrite).
func startsLikeRecord(head []byte, size int64) bool {
	if !sizeOfRecord(size) {
		return false
	}
	return len(head) >= 4 && string(head[:4]) == "SSFS" || lostWrite(head, size)
}

// ours reports whether an expired file named like a record is one the
// store wrote, so that the sweep may remove it: it is, unless it is too
// short to be one, or no longer a regular file (swapped in since the
// listing, which said regular: once moved aside, a directory could not be
// put back). Its size comes with the attributes judge already has. The sweep
// does not open it to look at its header, on any filesystem: on NFS that
// is an OPEN, a READ and a CLOSE per removal, more than the removal
// itself, and on a local disk one cold block read per removal, which
// doubled a cold sweep's time and data read (docs/measurements.md). What
// that look would protect is a file that imitates a record's 32-hex name,
// its shard and its size, which only a person or another program puts in
// data/. A file replaced since the listing (by a Save) is not judged here:
// the check after the move aside tells it apart by its inode.
func ours(st fileStat) bool { return st.typ == 0 && sizeOfRecord(st.size) }

// oversize reports whether st, the attributes of a file named like a
// record in its shard, is a regular file larger than any record the
// format can describe (maxFormatFile: the header and the largest payload
// length a header may claim), which only a person or another program
// puts there. It is no session, on any build: no Load reads it, and a
// Save replaces it. So its mtime, which says nothing of a session in
// use, does not keep it: the sweep removes it once that mtime is older
// than Grace, and Stats counts it expired then, where it would count as
// live, its bytes in LiveBytes, until the marker's largest idle timeout
// had passed. The bound is the format's, not maxRecordFile, the largest
// record this build writes: a build with a larger WithMaxSize ceiling
// writes larger records in the same format, which its hosts load, and a
// sessgc of this build on a cron host upgraded later must not remove
// them while they are in use.
func oversize(st fileStat) bool { return st.typ == 0 && st.size > maxFormatFile }

// maxFormatFile is the size of the largest file a record's header can
// describe: the header and record.MaxPayload.
const maxFormatFile = record.HeaderSize + record.MaxPayload

// judge decides about a record from its directory entry's attributes:
// live, expired for sure (returned as a candidate for removeBatch), or,
// between the marker's max idle and the largest it ever held, removed or
// kept by its header under its lock (removeRecord).
//
// On NFS a READDIR reply primes every file's attributes, so a plain stat
// after it costs no round trip; but a directory the client lists from its
// cache, unchanged since it last listed it, costs a GETATTR per file whose
// cached attributes expired (docs/operations.md), one per live session on
// a second run minutes after the first. So on NFS, where the platform can
// (judgeCachedFirst), the record is first judged from the attributes the
// client has, however old: a record's mtime only moves forward (Save and
// Touch stamp the server's time), so a cached mtime is no newer than the
// server's, and a record it shows live is live. Anything else (expired,
// between, not a record's type or size, an error) is decided by a fresh
// stat, as without the cached look, so no removal rests on cached
// attributes. An mtime set back (a rekey's rewrite undoing a Touch that
// landed in its last instant, a restore by hand) can keep a record past
// its expiry, at most until its cached mtime plus the marker's max idle
// and Grace: Load and Touch judge expiry themselves, and a later sweep
// removes it. Off NFS a stat is the file system's own answer, with no
// client cache to read around, so one stat judges.
//
// now is the server's time read before the entry was stat'ed (see dir),
// lim the limits for it (limits).
//
// name is the listing's (see dir): judge makes a string of it only for a
// record it does not find live.
func (sw *sweeper) judge(ctx context.Context, sd shardDir, name []byte, now time.Time, lim sweepLimits, live, liveBytes *int64, back *putBacks) (candidate, bool, error) {
	if sw.cachedFirst {
		if st, ok := sw.s.cachedLiveName(sd, name, now, lim.liveFor); ok {
			sw.ok()
			*live++
			*liveBytes += st.size
			return candidate{}, false, nil
		}
	}
	st, err := sd.lstatName(name)
	if h := sw.s.testHooks.judgeStat; h != nil {
		st.mtime = h(string(name), false, st.mtime)
	}
	if h := sw.s.testHooks.statFault; h != nil && err == nil {
		if ferr := h(filepath.Join(sd.path, string(name))); ferr != nil {
			err = &fs.PathError{Op: "lstat", Path: filepath.Join(sd.path, string(name)), Err: ferr}
		}
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sw.fail(err)
		}
		return candidate{}, false, nil
	}
	sw.ok()
	age := ageOf(now, st.mtime)
	if sw.s.testHooks.judgeStat != nil {
		age = now.Sub(st.mtime) // the hook's mtime may carry a monotonic reading, which Sub compares
	}
	switch {
	case oversize(st) && age > sw.opts.Grace:
		return candidate{name: string(name), st: st}, true, nil
	case age <= lim.liveFor:
		*live++
		*liveBytes += st.size
		return candidate{}, false, nil
	case age <= lim.expireAfter:
		return candidate{}, false, sw.removeRecord(ctx, sd.path, string(name), back)
	}
	if !ours(st) {
		sw.foreignFile(filepath.Join(sd.path, string(name)))
		return candidate{}, false, nil
	}
	return candidate{name: string(name), st: st}, true, nil
}

// ageOf is now.Sub(mtime) for an mtime from a stat, which carries no
// monotonic clock reading, so that Sub would compare the wall clock's
// too: the same difference without Sub's check for overflow (through Add
// and Equal, a tenth of a live record's judging), where the two are
// within about 136 years of each other; Sub saturates beyond.
func ageOf(now, mtime time.Time) time.Duration {
	if d := now.Unix() - mtime.Unix(); d > -1<<32 && d < 1<<32 {
		return time.Duration(d)*time.Second + time.Duration(now.Nanosecond()-mtime.Nanosecond())
	}
	return now.Sub(mtime)
}

// removeBatch removes records judged expired from their directory entries.
// Per record, on NFS: a RENAME to the aside name, a REMOVE, and a share of
// one READDIR that checks the whole batch. See Sweep for the protocol; in
// short: move aside (Loads look there, see readMovedAside), check that the
// file aside is the one judged with the mtime judged, unlink it, or put it
// back when a Save or Touch came after the scan.
func (sw *sweeper) removeBatch(ctx context.Context, sd shardDir, batch []candidate, back *putBacks) error {
	if sw.opts.DryRun {
		for _, c := range batch {
			if err := sw.wait(ctx); err != nil {
				return err
			}
			sw.removed(sw.removal(sd, c, sw.clock.now()), &sw.sessions)
		}
		return nil
	}
	if err := sw.exclusive(ctx); err != nil {
		return err
	}
	// One at a time: Linux holds the directory's lock across an NFS
	// RENAME or REMOVE in it, so more in flight in one directory would
	// only queue there. Workers in other directories overlap (Concurrency).
	moved := make([]bool, len(batch))
	var ctxErr error
	for i, c := range batch {
		if ctxErr = ctx.Err(); ctxErr == nil {
			ctxErr = sw.wait(ctx)
		}
		if ctxErr != nil {
			break
		}
		if h := sw.s.testHooks.beforeMove; h != nil {
			h(filepath.Join(sd.path, c.name))
		}
		if err := sd.rename(c.name, asideName(c.name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				sw.fail(err)
			}
			continue
		}
		moved[i] = true
	}
	// What moved is settled even when ctx ended meanwhile: left aside, a
	// record would wait for the next sweep.
	asides := sw.checkAside(sd, batch, moved)
	// The removals' ages, by one reading of the server's clock for the
	// batch rather than one each (a system call without a vDSO): the
	// unlinks after it take a round trip each, so an age may read short
	// by what the batch's unlinks took (sweepBatch round trips at most).
	now := sw.clock.now()
	for i := range batch {
		if moved[i] {
			sw.settleMoved(sd, batch[i], asides[i], now, back)
		}
	}
	return ctxErr
}

// settleMoved removes a record moved aside if checkAside found the file
// judged there, with the mtime judged, and puts it back otherwise; now is
// the server's time for the removal's age.
func (sw *sweeper) settleMoved(sd shardDir, c candidate, a asideStat, now time.Time, back *putBacks) {
	switch {
	case errors.Is(a.err, fs.ErrNotExist):
		return // gone already: nothing of ours to do
	case a.err != nil:
		// Undecided: leave it aside. Loads find it there, and the
		// next sweep settles it (pending).
		sw.fail(a.err)
		return
	case a.st.typ != 0 || a.st.ino != c.st.ino || a.st.dev != c.st.dev || !a.st.mtime.Equal(c.st.mtime):
		sw.putBackRenewed(filepath.Join(sd.path, c.name), filepath.Join(sd.path, asideName(c.name)), &a.st, back)
		return
	}
	if h := sw.s.testHooks.beforeRemoveAside; h != nil {
		h(filepath.Join(sd.path, c.name))
	}
	if err := sd.unlink(asideName(c.name)); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sw.fail(err)
		}
		return
	}
	if cache := sw.s.cache; cache != nil {
		cache.drop(c.name)
	}
	sw.removed(sw.removal(sd, c, now), &sw.sessions)
}

// removal reports the removal of c, whose age is taken at now.
func (sw *sweeper) removal(sd shardDir, c candidate, now time.Time) Removal {
	// sd.path is clean (walkShards joined it) and c.name a record's:
	// filepath.Join would only clean the path again, a third of a
	// removal's user-space work in the sweep.
	return Removal{Path: sd.path + string(filepath.Separator) + c.name, Kind: KindSession, Size: c.st.size, Age: now.Sub(c.st.mtime)}
}

// asideStat is what the sweep learnt about an aside name after its move.
type asideStat struct {
	st  fileStat
	err error
}

// checkAside returns the attributes of the files now at the aside names
// of the moved records, as the file server has them.
//
// On local filesystems an lstat tells. On NFS it need not: after its own
// rename the Linux client moves its cached entry for the record's name
// (the judged file) to the aside name and marks it valid, whatever the
// server moved; and a cached mtime may predate a Touch from another host.
// So the directory is listed again: the client must send a READDIR, since
// the renames changed the directory, and the reply refreshes the entry and
// attributes of every name in it (the two-host NFS suite checks this,
// LoadWhileMovedAside and TouchedAfterScan). One READDIR serves the whole
// batch. A name the listing does not show is looked up on its own
// (revalidateName) and its attributes fetched from the server (statFresh).
func (sw *sweeper) checkAside(sd shardDir, batch []candidate, moved []bool) []asideStat {
	out := make([]asideStat, len(batch))
	var want map[string]int
	for i, c := range batch {
		if !moved[i] {
			continue
		}
		if h := sw.s.testHooks.beforeSettle; h != nil {
			h(filepath.Join(sd.path, c.name))
		}
		if sw.s.nfs {
			if want == nil {
				want = make(map[string]int)
			}
			want[asideName(c.name)] = i
			out[i].err = errNotListed
		} else {
			out[i].st, out[i].err = sd.lstat(asideName(c.name))
		}
	}
	if len(want) == 0 {
		return out
	}
	// Listed as the scan lists (forEachName, the worker's kind of
	// buffer): no Go value per entry, where most of a shard's are live
	// records the check passes over.
	buf := sw.listBuf()
	err := sw.s.root.forEachName(context.Background(), sd.path, *buf, func(name []byte, _ fs.FileMode) {
		if i, ok := want[string(name)]; ok {
			out[i].st, out[i].err = sd.lstatName(name)
		}
	})
	sw.bufs.Put(buf)
	for i, c := range batch {
		if !moved[i] || !errors.Is(out[i].err, errNotListed) {
			continue
		}
		if err != nil {
			out[i].err = err
			continue
		}
		aside := filepath.Join(sd.path, asideName(c.name))
		sw.s.revalidateName(aside)
		id, err := sw.s.root.statFresh(aside)
		switch {
		case err != nil:
			out[i].err = err
		case id.nlink == 0:
			out[i].err = fs.ErrNotExist
		default:
			out[i].st = fileStat{ino: id.ino, dev: id.dev, mtime: id.mtime, size: c.st.size}
		}
	}
	return out
}

// errNotListed marks an aside name the listing did not show.
var errNotListed = errors.New("not in the directory listing")

func (sw *sweeper) temp(ctx context.Context, d *shardDir, dir, name string) error {
	p := filepath.Join(dir, name)
	var st fileStat
	var err error
	if d != nil {
		st, err = d.lstat(name) // its error names the path
	} else if st, err = sw.s.root.lstat(p); err != nil {
		err = &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sw.fail(err)
		}
		return nil
	}
	age := sw.clock.now().Sub(tempTime(name, st))
	if age < sw.opts.TempAge {
		return nil
	}
	if err := sw.wait(ctx); err != nil {
		return err
	}
	if !sw.opts.DryRun {
		if d != nil {
			err = d.unlink(name)
		} else if err = sw.s.root.unlink(p); err != nil {
			err = &fs.PathError{Op: "unlink", Path: p, Err: err}
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				sw.fail(err)
			}
			return nil
		}
	}
	sw.removed(Removal{Path: p, Kind: KindTemp, Size: st.size, Age: age}, &sw.temps)
	return nil
}

func (sw *sweeper) wait(ctx context.Context) error {
	// Before each removal, where no session's lock is held (its callers
	// remove without one): the callbacks of the removals before it, which
	// a batch's, each waiting for Rate, would otherwise keep until its end.
	if err := sw.events.wait(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if sw.limit == nil {
		return nil
	}
	return sw.limit.wait(ctx)
}

// paced runs step, a removal or a settlement that may find nothing to do
// once it looks (a session in use, a record live by its own header, a
// file gone), under Rate, which bounds the work done, not the looks: a
// slot goes to work only. step calls take once it knows it has work, and
// does it if take returns true (a slot is held, or there is no Rate). On
// false, when a slot would have to be waited for, step must let go of
// what it holds (the session's lock, which other sessions of its stripe
// share: no request waits out the Rate on it) and return; paced then
// waits for a slot and runs step again, to look afresh. A slot waited for
// that step then did not take goes back to the limiter.
func (sw *sweeper) paced(ctx context.Context, step func(take func() bool) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if sw.limit == nil {
		return step(func() bool { return true })
	}
	var held time.Time // a slot waited for and not taken yet
	for {
		wants := false
		err := step(func() bool {
			switch {
			case !held.IsZero():
				held = time.Time{}
				return true
			case sw.limit.tryTake():
				return true
			}
			wants = true
			return false
		})
		if !held.IsZero() {
			sw.limit.giveBack(held)
			held = time.Time{}
		}
		if err != nil || !wants {
			return err
		}
		if held, err = sw.limit.reserve(ctx); err != nil {
			return err
		}
	}
}

// removeRecord removes a record whose mtime is past the marker's max idle
// but not past the largest it ever held, under its lock, by its header;
// see Sweep. Only its removal waits its turn under Rate (paced): most
// such records are live by their header, after an operator lowered the
// marker.
func (sw *sweeper) removeRecord(ctx context.Context, dir, name string, back *putBacks) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !sw.opts.DryRun {
		if err := sw.exclusive(ctx); err != nil {
			return err
		}
	}
	return sw.paced(ctx, func(take func() bool) error {
		sw.removeLocked(dir, name, back, take)
		return nil
	})
}

// removeLocked is removeRecord's look at the record and its removal, under
// the session's lock; take is paced's.
func (sw *sweeper) removeLocked(dir, name string, back *putBacks, take func() bool) {
	s := sw.s
	p := filepath.Join(dir, name)
	unlock, ok := sw.lockSession(name, p)
	if !ok {
		return
	}
	defer unlock()
	// Fresh attributes: open (close-to-open revalidation on NFS), fstat.
	f, st, err := s.root.openRead(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sw.fail(&fs.PathError{Op: "open", Path: p, Err: err})
		}
		return
	}
	closed := false
	defer func() {
		if !closed {
			f.close()
		}
	}()
	now := sw.clock.now()
	lim, err := sw.limits(now)
	if err != nil {
		sw.fail(fmt.Errorf("sweep %s: %w", p, err))
		return
	}
	age := now.Sub(st.mtime)
	if age <= lim.liveFor {
		sw.renewed.Add(1)
		return
	}
	// A file is removed only if it starts like a record, or like what a
	// power loss leaves of one (lostWrite): a stray file that happens to
	// have a record's name and place was not written by us.
	var hb [record.HeaderSize]byte
	n, err := f.readAt(hb[:], 0)
	if err != nil || !startsLikeRecord(hb[:n], st.size) {
		sw.foreignFile(p)
		return
	}
	// The record's own expiry is the truth (the same READ as the magic):
	// the marker only bounds it, and a marker lowered by hand, or a raise
	// lost to a cut-off host, must not cost a live session. A header that
	// does not decode, or claims no idle timeout (we never write one),
	// leaves the record to the marker's judgement.
	if h, _, err := record.DecodeHeader(hb[:n]); err == nil && h.Idle > 0 {
		own := expiry(st.mtime, h.Idle, h.Deadline)
		if sw.clock.now().Before(own.Add(sw.opts.Grace)) {
			sw.live.Add(1)
			sw.liveBytes.Add(st.size)
			return
		}
	}
	r := Removal{Path: p, Kind: KindSession, Size: st.size, Age: age}
	if !take() {
		return
	}
	if sw.opts.DryRun {
		sw.removed(r, &sw.sessions)
		return
	}
	// Close before the move: on NFS our open would keep the judged file
	// alive on the server after a concurrent Save replaced it, and settle
	// relies on a replaced file being gone (or showing no links).
	f.close()
	closed = true
	// Move aside under a fixed name, so that a Load finding no record
	// looks there (readMovedAside) and sees a Save that returned before it
	// started even while the sweep holds it; then check that what moved is
	// the file we judged: an unlocked Save may have renamed a fresh record
	// over it meanwhile.
	aside := filepath.Join(dir, asideName(name))
	if h := s.testHooks.beforeMove; h != nil {
		h(p)
	}
	if err := s.root.rename(p, aside); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sw.fail(&fs.PathError{Op: "rename", Path: p, Err: err})
		}
		return
	}
	sw.settle(p, aside, st, r, back)
}

// lockSession takes the lock of the session whose record is named name
// (at path, for errors) without waiting, for removeRecord and pending, and
// returns the function that releases it; ok is false, and the session
// counted as locked or failed, when the lock could not be had.
//
// A dry run takes no lock and judges the record as it is: it changes
// nothing, while taking a lock creates the stripe's lock file on its
// first use, and a dry run is the one sessgc lets root run on a store
// another user owns: such a file, root's and mode 0600, would lock the
// applications out of every session of its stripe.
func (sw *sweeper) lockSession(name, path string) (unlock func(), ok bool) {
	if sw.opts.DryRun {
		return func() {}, true
	}
	s := sw.s
	// Sessions share stripes, so two workers of this sweep may want the
	// same stripe at once. They queue on the sweep's own mutex first, so a
	// failed TryLock below always means a request (or another process)
	// holds the session.
	si := stripeOfName(name) % uint32(s.layout.stripes)
	mu := &sw.stripeMu[si]
	mu.Lock()
	h, err := s.locks.TryLock(stripeName(si, s.layout.stripes), name, lock.Exclusive)
	switch {
	case errors.Is(err, lock.ErrLocked):
		mu.Unlock()
		sw.locked.Add(1)
		return nil, false
	case err != nil:
		mu.Unlock()
		sw.fail(fmt.Errorf("sweep %s: %w", path, closedLock(err)))
		return nil, false
	}
	return func() { h.Unlock(); mu.Unlock() }, true
}

// asidePrefix starts the name under which the sweep moves a record aside
// while it decides; the record's name follows.
const asidePrefix = tempPrefix + "gc-"

func asideName(name string) string { return asidePrefix + name }

// deleteAsidePrefix starts the name under which a locked Delete moves a
// record aside while it checks its lock (see Store.deleteLocked); the
// record's name follows. It is not the sweep's: each of the two unlinks
// what it checked by name, and with one name between them either could
// unlink what the other had just moved there, a record the next holder of
// the session's lock saved. Loads, Touch and Delete look at both names,
// and the sweep settles a record left under either by the same rules.
const deleteAsidePrefix = tempPrefix + "gd-"

func deleteAsideName(name string) string { return deleteAsidePrefix + name }

// cutAside returns the record whose aside name (the sweep's or a locked
// Delete's) name is; ok is false for any other name.
func cutAside(name string) (rec string, ok bool) {
	rec, ok = strings.CutPrefix(name, asidePrefix)
	if !ok {
		rec, ok = strings.CutPrefix(name, deleteAsidePrefix)
	}
	return rec, ok && isRecordName(rec)
}

// settle decides about a record the sweep has just moved aside: remove it
// if it is the expired file it judged, else put it back.
//
// On NFS the check cannot trust this client's view of the aside name: the
// client moves its own cached entry for the record's name (the judged
// file) to the aside name after the rename and marks it valid, while the
// server moved whatever the name held, possibly another host's fresh
// record. So the name is looked up again on the server first
// (revalidateName), then its attributes are fetched from the server
// (statFresh). The two-host NFS suite caught the need for the lookup: with
// the judged file still open on the host that replaced it, that host's
// client keeps it alive under a .nfsXXXX name, so a GETATTR by the judged
// file's handle succeeds and shows a link.
func (sw *sweeper) settle(p, aside string, judged fileStat, r Removal, back *putBacks) {
	if h := sw.s.testHooks.beforeSettle; h != nil {
		h(p)
	}
	sw.s.revalidateName(aside)
	moved, err := sw.s.root.statFresh(aside)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Gone already: nothing of ours to do.
		return
	case err != nil:
		// Undecided: leave it aside. Loads find it there, and the next
		// sweep settles it (pending).
		sw.fail(&fs.PathError{Op: "stat", Path: aside, Err: err})
		return
	case moved.ino != judged.ino || moved.dev != judged.dev || moved.nlink == 0,
		!moved.mtime.Equal(judged.mtime):
		// Another file (a Save's, perhaps under the judged file's freed
		// inode number), or the judged one touched since.
		sw.putBackRenewed(p, aside, nil, back)
		return
	}
	if h := sw.s.testHooks.beforeRemoveAside; h != nil {
		h(p)
	}
	if err := sw.s.root.unlink(aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		sw.fail(&fs.PathError{Op: "unlink", Path: aside, Err: err})
		return
	}
	if c := sw.s.cache; c != nil {
		c.drop(filepath.Base(p))
	}
	sw.removed(r, &sw.sessions)
}

// putBackResult is what putBack did with a record aside.
type putBackResult int

const (
	putBackNone   putBackResult = iota // gone (deleted meanwhile), or failed and left aside
	putBackLinked                      // back under its name
	putBackNewer                       // a newer record had the name: the copy aside went
)

// superseded reports the removal of a copy aside, whose attributes are st,
// that a newer record at its name superseded: a file of the store's
// removed, reported as every removal, by its own path and as a temp file
// (the session itself lives on under its name, so it is no expired
// session). linked: the name holds the same file (a put-back died between
// its link and its unlink), so the removal of the aside name frees
// nothing; counted with its size, an expired record's bytes were freed
// twice, and a live one's once though nothing left the disk.
func (sw *sweeper) superseded(aside string, st fileStat, linked bool) {
	var age time.Duration
	if !st.mtime.IsZero() { // zero: its lstat failed, and its age is unknown
		age = sw.clock.now().Sub(st.mtime)
	}
	size := st.size
	if linked {
		size = 0
	}
	sw.removed(Removal{Path: aside, Kind: KindTemp, Size: size, Age: age}, &sw.temps)
}

// sameInode reports whether a and b, the attributes of two names, are of
// one file: for the accounting of superseded alone, where the attributes
// of the file aside may lack the ctime that sameFile compares (checkAside
// on NFS), and the file aside is still there, its inode number not free
// for another.
func sameInode(a, b fileStat) bool { return a.dev == b.dev && a.ino == b.ino }

// putBack returns a record the sweep moved aside, whose attributes are st
// (nil: looked up if needed), to its name, unless a newer record took the name meanwhile (link fails
// with EEXIST; the one aside is then older, goes, and is counted as a
// removed temp file, see superseded). Any other failure leaves it aside,
// where Loads still find it and the next sweep tries again: nothing is
// lost. The caller counts the session: a record this sweep judged and
// moved aside itself was renewed since (settle), one an earlier sweep
// left aside is restored (pending).
func (sw *sweeper) putBack(p, aside string, st *fileStat) putBackResult {
	linkFn := sw.s.root.link
	if h := sw.s.testHooks.link; h != nil {
		linkFn = h
	}
	err := linkFn(aside, p)
	if errors.Is(err, fs.ErrNotExist) || isStale(err) {
		// A Delete removed it while it was aside (see Store.delete): the
		// session ended, and must stay ended.
		return putBackNone
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		sw.fail(fmt.Errorf("sweep: put back %s: %w", p, &fs.PathError{Op: "link", Path: aside, Err: err}))
		return putBackNone
	}
	if err != nil && st == nil {
		// For the removal's report: its size and age. Rare (a Save
		// raced this sweep's own move), so one more call is cheap.
		a, _ := sw.s.root.lstat(aside)
		st = &a
	}
	switch uerr := sw.dropAside(p, aside, st); {
	case uerr != nil && !errors.Is(uerr, fs.ErrNotExist):
		// Both names hold the record (or p a newer one): the aside copy
		// is harmless, and the next sweep removes it.
		sw.fail(&fs.PathError{Op: "unlink", Path: aside, Err: uerr})
	case uerr == nil && err != nil:
		// Rare (a put-back that found its name taken), so one more
		// look, for the accounting, is cheap.
		named, lerr := sw.s.root.lstat(p)
		sw.superseded(aside, *st, lerr == nil && sameInode(named, *st))
	}
	if err != nil {
		return putBackNewer
	}
	return putBackLinked
}

// putBackRenewed puts back a record this sweep moved aside after its scan
// judged it expired, which a Save or Touch renewed since; st: the
// attributes of the file aside, nil if unknown.
func (sw *sweeper) putBackRenewed(p, aside string, st *fileStat, back *putBacks) {
	if sw.putBack(p, aside, st) != putBackNone {
		sw.renewed.Add(1)
		// Counted: whether linked back or saved anew meanwhile, the
		// name is new in the directory, and the listing may show it.
		back.add(filepath.Base(p))
	}
}

// putBacks holds the names of the records one pass over a shard
// directory put back under their names (restored or renewed) and
// counted. Its zero value is empty. Few: a put-back takes a sweep that
// died or a request racing this one, so memory still does not grow with
// the directory.
type putBacks struct{ names map[string]struct{} }

func (b *putBacks) add(name string) {
	if b.names == nil {
		b.names = make(map[string]struct{})
	}
	b.names[name] = struct{}{}
}

func (b *putBacks) has(name []byte) bool {
	_, ok := b.names[string(name)] // no string made: a map lookup converts in place
	return ok
}

// isAsideOf reports whether name is the aside name of a record in the
// shard whose records start with prefix.
func isAsideOf(name, prefix string) bool {
	rec, ok := cutAside(name)
	return ok && strings.HasPrefix(rec, prefix)
}

// asideLive reports whether a record held aside, whose header is b and
// attributes st, is live at now: by its own expiry (idle timeout and
// deadline) plus grace, or, when the header cannot be judged, younger than
// tempAge, as a temp file. Sweep puts such a record back and Stats counts
// it live; otherwise it is removed, and counted expired.
func asideLive(b []byte, st fileStat, now time.Time, grace, tempAge time.Duration) bool {
	if hdr, _, err := record.DecodeHeader(b); err == nil && hdr.Idle > 0 {
		return now.Before(expiry(st.mtime, hdr.Idle, hdr.Deadline).Add(grace))
	}
	return now.Sub(st.mtime) < tempAge
}

// pending settles a record a sweep left aside: one whose put-back failed,
// or whose sweep died midway. Under the session's lock: a live record
// (by its own expiry) goes back to its name, unless a newer one took it;
// an expired one is removed. With DryRun, it counts what it would do.
//
// It waits its turn under Rate (paced) once it found the record aside
// and its session free: it removes the copy aside (expired, or
// superseded by a newer record), or links it back and removes the aside
// name, as many operations on the file server as a removal. One it leaves
// as it is (in use, gone meanwhile) takes no turn.
func (sw *sweeper) pending(ctx context.Context, dir, name string, back *putBacks) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !sw.opts.DryRun {
		if err := sw.exclusive(ctx); err != nil {
			return err
		}
	}
	return sw.paced(ctx, func(take func() bool) error {
		sw.pendingLocked(dir, name, back, take)
		return nil
	})
}

// pendingLocked is pending's look at the record aside and its
// settlement, under the session's lock; take is paced's.
func (sw *sweeper) pendingLocked(dir, name string, back *putBacks, take func() bool) {
	rec, _ := cutAside(name)
	unlock, ok := sw.lockSession(rec, filepath.Join(dir, name))
	if !ok {
		return
	}
	defer unlock()
	sw.settleAside(dir, name, rec, back, take)
}

// settleAside is pendingLocked's settlement of the copy aside at name in
// dir, a copy of record rec, under the session's lock.
func (sw *sweeper) settleAside(dir, name, rec string, back *putBacks, take func() bool) {
	s := sw.s
	aside, p := filepath.Join(dir, name), filepath.Join(dir, rec)
	if strings.HasPrefix(name, deleteAsidePrefix) && !sw.opts.DryRun {
		// Its removal goes through the sweep's own aside name
		// (dropAside), which must be free: a copy there is settled
		// first (older or newer than this one, see olderAside).
		own := asideName(rec)
		if _, err := s.root.lstat(filepath.Join(dir, own)); !errors.Is(err, fs.ErrNotExist) {
			sw.settleAside(dir, own, rec, back, take)
			if _, err := s.root.lstat(filepath.Join(dir, own)); !errors.Is(err, fs.ErrNotExist) {
				return
			}
		}
	}
	s.revalidateName(aside) // this host may have moved a stale entry here
	b, st, err := s.readHeader(aside)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		// Unreadable (an EIO of a damaged file, an EACCES of one made
		// by another user): once its attributes put it past any
		// session's life, it goes as the listing's records go, unread.
		// Left for good, Loads of the session failed on it for good.
		if ast, ok := sw.unreadableExpired(aside, err); ok {
			if take() {
				sw.dropUnreadable(dir, p, rec, aside, ast)
			}
			return
		}
		sw.fail(asideUnreadable(aside, err))
		return
	}
	if !take() {
		return
	}
	other, ost, cmp, err := s.asideRival(dir, name, rec, b, st)
	if err != nil {
		// Which copy is the session cannot be told: settled alone, this
		// one, perhaps the older, went back, and the newer then as the
		// older. Both are left for a later pass; Loads report the error
		// meanwhile (readMovedAside). Unless the other is past any
		// session's life by its attributes: then it is the older copy
		// (copyOrder goes by the mtime first, and this one, newer, or
		// past that life too, is judged expired by its own header) and
		// goes after this one, as an older copy does.
		uost, ok := sw.unreadableExpired(other, err)
		if !ok {
			sw.fail(fmt.Errorf("sweep %s: %w", p, err))
			return
		}
		ost, cmp = uost, -1
	}
	if cmp > 0 {
		// The other aside name holds a newer copy of the session, which
		// its own turn settles: put back first, this older one would
		// take the name, and that one go as the older.
		if !sw.opts.DryRun {
			if !sw.drop(p, aside, &st) {
				return
			}
		}
		sw.superseded(aside, st, false)
		return
	}
	now := sw.clock.now()
	live := asideLive(b, st, now, sw.opts.Grace, sw.opts.TempAge)
	// The removal of an expired copy is the session's, reported by its
	// name; but where another file holds the name (a save after the copy
	// was set aside), by the copy's own path: by the name, the run said
	// it removed the record that is there, and live.
	gone := Removal{Path: p, Kind: KindSession, Size: st.size, Age: now.Sub(st.mtime)}
	if !live {
		// A put-back that died between its link and its unlink of the
		// aside name left the file under both: the session is the
		// name's, which the listing judges and counts, and the aside
		// link a leftover, removed as a temp file, as a live one's is
		// (putBackNewer). Counted as a session here too, one expired
		// session was two removed. Rare, so the look is cheap.
		named, taken, err := s.nameStat(p)
		if err != nil {
			sw.fail(&fs.PathError{Op: "stat", Path: p, Err: err})
			return
		}
		if taken && named.sameFile(st) {
			if !sw.opts.DryRun {
				if !sw.drop(p, aside, &st) {
					return
				}
			}
			sw.superseded(aside, st, true)
			return
		}
		if taken {
			gone.Path = aside
		}
	}
	if sw.opts.DryRun {
		if live {
			sw.wouldRestore(p, aside, st)
		} else { // as the removal below reports it
			sw.removed(gone, &sw.sessions)
		}
		return
	}
	if live {
		// Kept, not renewed: nothing happened to the session since it was
		// judged, by a sweep that did not finish. A newer record at its
		// name is counted by the listing, as any live one.
		switch sw.putBack(p, aside, &st) {
		case putBackNone:
			return
		case putBackLinked:
			sw.restored.Add(1)
			back.add(rec)
		}
	} else {
		if !sw.drop(p, aside, &st) {
			return
		}
		sw.removed(gone, &sw.sessions)
	}
	if cmp < 0 {
		// The other aside name holds an older copy, superseded whether
		// this one went back or expired: left to its own turn, it would
		// be judged alone, and put back live over the session that
		// ended (this copy is no longer there to compare with). This
		// one gone from the sweep's own aside name leaves it free for
		// dropAside; a link there an unlink above failed to remove
		// leaves the older copy to its own turn.
		if _, err := s.root.lstat(filepath.Join(dir, asideName(rec))); errors.Is(err, fs.ErrNotExist) && sw.drop(p, other, &ost) {
			sw.superseded(other, ost, false)
		}
	}
}

// unreadableExpired returns the attributes of the copy aside at aside,
// whose header could not be read, when they show it older than the
// marker's limits let any record live (expireAfter, as the listing removes
// a record without reading it): whatever its header says, the session
// there has expired, and a copy of it beside it that is newer by the
// mtime is the session. A copy younger than that is left, with its error:
// which copy is the session, and whether it is live, cannot be told. So
// is one whose read failed with rerr for a reason other than the file's
// (unreadableForGood).
func (sw *sweeper) unreadableExpired(aside string, rerr error) (fileStat, bool) {
	if !unreadableForGood(rerr) {
		return fileStat{}, false
	}
	st, err := sw.s.root.lstat(aside)
	if err != nil || st.typ != 0 {
		return fileStat{}, false
	}
	now := sw.clock.now()
	lim, err := sw.limits(now)
	if err != nil {
		return fileStat{}, false
	}
	return st, ageOf(now, st.mtime) > lim.expireAfter
}

// unreadableForGood reports whether err, a read of a copy aside, is the
// file's own, which every later look meets again: EACCES or EPERM (a file
// another user made), EIO (a damaged one). An error of the moment (on
// NFS, ESTALE: the file behind the name replaced in that instant, and the
// attributes looked at next perhaps still the replaced one's; EINTR,
// EAGAIN, a soft mount's timeout) or of the sweep's own process (EMFILE,
// ENOMEM) is not: the next pass reads the copy, and judges it by what it
// holds, not by attributes that may not be its own.
func unreadableForGood(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EIO)
}

// dropUnreadable removes, for settleAside, the unreadable copy aside at
// aside (attributes st) of record rec at p, past any session's life
// (unreadableExpired): counted as the expired session, or as a stale temp
// file where the other aside name holds a copy too (the session, or
// expired with it and counted at its own turn), or where the name holds
// this very file (a put-back that died between its link and its unlink):
// the listing counts that as the session, and the aside link frees
// nothing, as settleAside counts a readable one. Counted as a session at
// each name, one expired session was two removed, its bytes freed twice.
func (sw *sweeper) dropUnreadable(dir, p, rec, aside string, st fileStat) {
	named, taken, err := sw.s.nameStat(p)
	if err != nil {
		sw.fail(&fs.PathError{Op: "stat", Path: p, Err: err})
		return
	}
	linked := taken && named.sameFile(st)
	_, oerr := sw.s.root.lstat(filepath.Join(dir, otherAside(filepath.Base(aside), rec)))
	temp := linked || oerr == nil
	if sw.opts.DryRun {
		if temp {
			sw.superseded(aside, st, linked)
		} else {
			sw.removed(Removal{Path: p, Kind: KindSession, Size: st.size, Age: sw.clock.now().Sub(st.mtime)}, &sw.sessions)
		}
		return
	}
	if !sw.drop(p, aside, &st) {
		return
	}
	if temp {
		sw.superseded(aside, st, linked)
		return
	}
	sw.removed(Removal{Path: p, Kind: KindSession, Size: st.size, Age: sw.clock.now().Sub(st.mtime)}, &sw.sessions)
}

// otherAside is the other aside name of record rec than name, one of
// its two.
func otherAside(name, rec string) string {
	if name == asideName(rec) {
		return deleteAsideName(rec)
	}
	return asideName(rec)
}

// drop is dropAside for settleAside, which leaves the copy where it is
// on a failure: it reports the failure (a copy gone meanwhile is none)
// and whether the copy went.
func (sw *sweeper) drop(p, aside string, st *fileStat) bool {
	err := sw.dropAside(p, aside, st)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		sw.fail(&fs.PathError{Op: "unlink", Path: aside, Err: err})
	}
	return err == nil
}

// dropAside removes the copy aside at aside, whose attributes were st
// when the sweep judged it, once put back, superseded or expired. The
// sweep's own aside name is unlinked. A locked Delete's is not unlinked
// by name: a holder stopped past its lease, resumed, moves the name there
// (Store.deleteLocked), which may hold the record the next holder saved
// since, and an unlink after the sweep's look would take it. The copy is
// moved to the sweep's own aside name (free: pendingLocked settles a copy
// there first, and nothing but the sweep, under its lock, moves a file
// there), and removed there if it is the file judged; else it is what
// such a holder moved there, put back (putBack). The move cannot carry a
// record past an unlocked Delete (which removes the sweep's aside name
// before the Delete's): the copy moved is put back already, or superseded,
// or expired, unless such a holder moved the name there.
func (sw *sweeper) dropAside(p, aside string, st *fileStat) error {
	dir, name := filepath.Split(aside)
	rec, ok := strings.CutPrefix(name, deleteAsidePrefix)
	if !ok || st == nil {
		return sw.s.root.unlink(aside)
	}
	own := filepath.Join(dir, asideName(rec))
	if err := sw.s.root.rename(aside, own); err != nil {
		return err
	}
	moved, err := sw.s.root.lstat(own)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !sameInode(moved, *st):
		// The stopped holder's move of the name: put back. The
		// rename and the link change the file's ctime, so the inode
		// alone tells.
		sw.putBack(p, own, &moved)
		return nil
	}
	return sw.s.root.unlink(own)
}

// asideRival compares the copy of record rec held aside as name in dir,
// whose header is b, with a copy held under the other aside name (the
// sweep's and a locked Delete's): cmp is 1 where that one is the newer,
// -1 where it is the older, 0 where there is none or either header
// cannot be judged; other is its path and ost its attributes. A Delete
// that found its lock lost leaves the record it moved aside, which may be
// older than one a sweep moved aside since, from the name, after a newer
// save, and the other way round. The newer copy is the session: put back
// live, removed expired; the older goes as superseded, whether live or
// not. Under the session's lock (pendingLocked) nothing else writes
// either. Rare: the look at the other name costs an open where it is
// empty.
//
// Newer is the later saved (copyOrder: by the server's mtime, then
// Created and version): a session re-created while a copy of its earlier
// self was aside (a create over a record expired to Loads, which the
// sweep's grace still keeps) is the newer whatever its version, which
// starts afresh when the earlier record was absent. Judged by versions
// alone, or each copy on its own, the earlier session's copy, settled
// first, took the name and the re-created one went as the older; and an
// older copy outlived a newer one that had expired, the session coming
// back with older data.
func (s *Store) asideRival(dir, name, rec string, b []byte, st fileStat) (other string, ost fileStat, cmp int, err error) {
	other = asideName(rec)
	if other == name {
		other = deleteAsideName(rec)
	}
	other = filepath.Join(dir, other)
	ob, ost, err := s.readHeader(other)
	if err != nil {
		return other, ost, 0, asideUnreadable(other, err)
	}
	return other, ost, copyOrder(ob, ost, b, st), nil
}

// asideToRead returns the aside name in dir whose copy of record rec is
// the session, as readMovedAside reads it: the sweep's, unless a locked
// Delete's holds a newer copy, or the sweep's is empty. Rare: asked for a
// record listed aside. An error says a copy could not be looked at
// (asideUnreadable), and which one is the session cannot be told.
func (s *Store) asideToRead(dir, rec string) (string, error) {
	gc := filepath.Join(dir, asideName(rec))
	if _, err := s.root.lstat(gc); err != nil {
		if err := asideUnreadable(gc, err); err != nil {
			return "", err
		}
		return deleteAsideName(rec), nil
	}
	switch newer, err := s.deleteAsideNewer(dir, rec); {
	case err != nil:
		return "", err
	case newer:
		return deleteAsideName(rec), nil
	}
	return asideName(rec), nil
}

// newerCopy reports whether the record a (attributes ast), read from an
// aside name, is a newer copy of its session than b (copyOrder).
func newerCopy(a []byte, ast fileStat, b []byte, bst fileStat) bool {
	return copyOrder(a, ast, b, bst) > 0
}

// copyOrder compares two copies of one session's record, a and b with
// attributes ast and bst: 1 where a is the newer, -1 where b is, 0 where
// neither can be told. Newer is the later mtime, the file server's clock
// (a save's write or a Touch stamps it; a move aside keeps it), then, on
// a tie, the later Created and higher version (newerHeader). Created comes
// from the clock of the host that saved: a blind save (Created zero, as
// the adapters and httpsession's Manager save) stamps it afresh, with a
// fresh version, so by Created alone the later save on a host whose clock
// lags was the older and lost to the earlier one. A damaged copy (record.ErrCorrupt) is older than
// one that decodes: Load reports it as corrupt and a create replaces it,
// so the session is the other, which a save made since (the next holder's
// create over it, say); put back first, the damaged one took the name and
// the other went as the older. A header of a format this build does not
// know (record.ErrUnsupported, a newer build's) is ordered by its mtime
// too, which says when it was saved whatever the format, as that build
// orders it: judged undecided, the copy this build reads was put back
// first and the newer build's later save went as the older. Only on an
// mtime tie, where the headers decide, can it not be told from.
func copyOrder(a []byte, ast fileStat, b []byte, bst fileStat) int {
	ha, _, aerr := record.DecodeHeader(a)
	hb, _, berr := record.DecodeHeader(b)
	damaged := func(err error) bool {
		return errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrUnsupported)
	}
	timed := func(err error) bool { return err == nil || errors.Is(err, record.ErrUnsupported) }
	switch {
	case timed(aerr) && timed(berr) && ast.mtime.After(bst.mtime):
		return 1
	case timed(aerr) && timed(berr) && bst.mtime.After(ast.mtime):
		return -1
	case aerr == nil && berr == nil && newerHeader(ha, hb):
		return 1
	case aerr == nil && berr == nil && newerHeader(hb, ha):
		return -1
	case aerr == nil && damaged(berr):
		return 1
	case berr == nil && damaged(aerr):
		return -1
	}
	return 0
}

// newerHeader reports whether a record with header a was saved after one
// with header b of the same session: a later Created (a session created
// again after the other was taken as absent; under the session's lock no
// save writes an earlier Created after a later one), else a higher
// version.
func newerHeader(a, b record.Header) bool {
	if a.Created != b.Created {
		return a.Created > b.Created
	}
	return a.Version > b.Version
}

// wouldRestore counts, for a dry run, a live record left aside at aside,
// with the attributes st, that the sweep would put back at p: it would,
// unless a newer record has the name (then the listing counts that one
// live, and the copy aside would go, see superseded).
func (sw *sweeper) wouldRestore(p, aside string, st fileStat) {
	named, taken, err := sw.s.nameStat(p)
	switch {
	case err != nil:
		sw.fail(&fs.PathError{Op: "stat", Path: p, Err: err})
	case taken:
		sw.superseded(aside, st, sameInode(named, st))
	default:
		sw.restored.Add(1)
	}
}

// nameTaken reports whether the name p of a live record held aside holds
// a file on the file server, as the put-back's link(2) finds it: then the
// put-back fails with EEXIST, and the copy aside, the older, is removed
// as a temp file (putBackNewer, superseded; the listing counts the record
// at p as the session). The dry
// run and Stats ask it, so that they count what the sweep will do.
func (s *Store) nameTaken(p string) (bool, error) {
	_, taken, err := s.nameStat(p)
	return taken, err
}

// nameStat is nameTaken with the attributes of the file at p.
func (s *Store) nameStat(p string) (fileStat, bool, error) {
	s.revalidateName(p) // this host's client may hold a stale entry for it
	st, err := s.root.lstat(p)
	if errors.Is(err, fs.ErrNotExist) && s.nfs {
		// The link(2) above misses a name this host's client has cached
		// as missing (a Load that fell back to the copy aside leaves
		// that entry) without asking the server, and so does lstat:
		// another host's Save since then is seen only once the
		// directory's attributes are fetched afresh, as Load does.
		s.refreshDir(p)
		st, err = s.root.lstat(p)
	}
	switch {
	case err == nil:
		return st, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return fileStat{}, false, nil
	}
	return fileStat{}, false, err
}

// revalidateName makes this host's NFS client look path up on the server
// again when it has the name cached as a file: link(2) of the name onto
// itself looks the target name up for an exclusive create, which the Linux
// client always checks with a LOOKUP, finds it taken and fails with EEXIST,
// creating nothing. A name cached as missing it does not revalidate: the
// client trusts that entry while the directory's attributes are cached,
// and link(2) fails with ENOENT without a round trip (see nameTaken).
// Elsewhere it costs one failing system call. Errors are ignored: the
// caller's next look at the name reports them.
func (s *Store) revalidateName(path string) { s.root.link(path, path) }

// readHeader reads the first HeaderSize bytes of a regular file (fewer if
// it is shorter) and its attributes through one open.
func (s *Store) readHeader(p string) ([]byte, fileStat, error) {
	f, st, err := s.root.openRead(p)
	if err != nil {
		return nil, st, err
	}
	defer f.close()
	b := make([]byte, record.HeaderSize)
	n, err := f.readAt(b, 0)
	if err != nil {
		return nil, st, err
	}
	return b[:n], st, nil
}

// readMovedAside is Load's second look for a record not found under its
// name: a sweep may hold it aside this instant (removeRecord), and a Save
// that returned before the Load started must still be seen. If the aside
// name is empty too, the sweep may have put the record back in between
// (its put-back takes no lock of the session, see settleMoved): with
// again, the name is read once more, after a fresh look at the directory.
// Without that look the NFS client answers from the "no such file" it
// cached at the first look, for as long as the directory's cached
// attributes last, and sends nothing: a read under the lock reported a
// live session missing, and CompareAndSwap creating it saved a fresh
// session over it (the two-host suite's PutBackDuringLoad). The look costs
// one GETATTR on NFS, only when both names are empty. A Load that looks
// again anyway passes again false: its next look, after the directory's
// refresh, is the name once more.
//
// A locked Delete moves the record to an aside name of its own
// (deleteAsideName) while it checks its lock, and leaves it there for the
// sweep to put back if it finds the lock lost: that record may be one the
// next holder saved, so that name is looked at too, after the sweep's. On
// NFS that costs a look at a missing session one OPEN more (no such file).
// CompareAndSwap creating a session pays it too: a Delete that found its
// lock lost reported the session not deleted, and its record stays there,
// the session as Loads find it, until the next sweep, with nothing in
// flight that a create could be ordered after. Taken as absent, the
// create saved a fresh session over it, and the sweep then removed the
// copy aside as the older (as for a record the sweep holds aside, which
// the create conflicts with).
//
// Both names may hold a copy at once (a sweep that died with one aside,
// a Delete that found its lock lost with another): the newer is the
// session, as the sweep settles them (asideRival), and is read; the
// older was a Load's answer, and a save under the lock built on it undid
// the newer's. The look at the Delete's name after a copy found at the
// sweep's costs an OPEN, where a copy is aside at all.
//
// A copy there that could not be read (a server's EIO, ESTALE, or EACCES)
// is the Load's error, naming the copy (asideUnreadable), whatever the
// other holds: it may be the newer, and the other, served, was an older
// session, which a create under the lock (CompareAndSwap) took as found.
// An ESTALE is looked at again, as under the name (see loadKeep).
func (s *Store) readMovedAside(p string, limit int, again bool) ([]byte, fileStat, error) {
	dir, name := filepath.Split(p)
	gc, gd := dir+asideName(name), dir+deleteAsideName(name)
	b, st, err := s.root.readFile(gc, limit)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b, st, err = s.root.readFile(gd, limit)
		if uerr := asideUnreadable(gd, err); uerr != nil {
			err = uerr
		}
	case err == nil:
		db, dst, derr := s.root.readFile(gd, limit)
		if uerr := asideUnreadable(gd, derr); uerr != nil {
			return nil, fileStat{}, uerr
		}
		if derr == nil && newerCopy(db, dst, b, st) {
			b, st = db, dst
		}
	default:
		err = asideUnreadable(gc, err)
	}
	if again && errors.Is(err, fs.ErrNotExist) {
		s.refreshDir(p)
		b, st, err = s.root.readFile(p, limit)
	}
	return b, st, err
}

// locks removes expired lease files and lease files moved aside by a
// breaker that died. Stripe lock files are kept. Like a shard, the
// directory is opened once, readable, to be listed and to look at each
// file in, and the lock package's look at the leases to judge goes
// through that descriptor too: the directory was opened again for each
// lease file's stat (an openat2, and on NFS a lookup of the path), and
// once more for each expired one's break, then once more by path for
// them all.
func (sw *sweeper) locks(ctx context.Context) error {
	// One directory, judged by its own files as a shard is: each of its
	// I/O errors counted as a failing directory of its own made one
	// damaged lock directory a storm over the store.
	sw = sw.inShard()
	defer func() { sw.failing.endDir(ctx, sw.shard) }()
	s := sw.s
	dir := filepath.Join(s.dir, LockDir)
	ttl := s.cfg.leaseTTL
	if ttl == 0 {
		ttl = 15 * time.Second
	}
	ld, err := s.root.openShardToList(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // as a listing of a directory gone finds it: empty
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer ld.close()
	leases := ld.leaseDir() // closed before ld, deferred after it
	defer leases.Close()
	var ctxErr error
	buf := sw.listBuf()
	defer sw.bufs.Put(buf)
	err = s.root.forEachShardName(ctx, ld, *buf, func(b []byte, typ fs.FileMode) {
		if ctxErr != nil {
			return
		}
		if ctxErr = sw.events.wait(ctx); ctxErr != nil {
			return
		}
		name := string(b) // the listing's bytes are valid during the call only
		if strings.HasPrefix(name, ".") {
			switch {
			case lockDotOwn(name):
			case lockDotTemp(name, typ):
				ctxErr = sw.temp(ctx, &ld, dir, name)
			default:
				sw.foreignFile(filepath.Join(dir, name))
			}
			return
		}
		if err := lockNameTaken(dir, name, typ); err != nil {
			sw.fail(err)
			return
		}
		if foreignInLocks(name, typ) {
			sw.foreignFile(filepath.Join(dir, name))
			return
		}
		lockName, broken, ok := lock.IsLeaseFile(name)
		if !ok {
			return
		}
		sw.scanned.Add(1)
		p := filepath.Join(dir, name)
		st, err := ld.lstat(name)
		if h := s.testHooks.statFault; h != nil && err == nil {
			if ferr := h(p); ferr != nil {
				err = &fs.PathError{Op: "lstat", Path: p, Err: ferr}
			}
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				sw.fail(err)
			}
			return
		}
		sw.ok()
		age := sw.clock.now().Sub(st.mtime)
		if broken && age < sw.opts.TempAge || !broken && age < ttl {
			return
		}
		if broken {
			if inUse, err := leases.LeftoverInUse(name); inUse {
				if err != nil {
					sw.fail(err)
				}
				return
			}
		}
		if ctxErr = sw.wait(ctx); ctxErr != nil {
			return
		}
		r := Removal{Path: p, Kind: KindLease, Size: st.size, Age: age}
		switch {
		case sw.opts.DryRun:
		case broken:
			if err := ld.unlink(name); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					sw.fail(err)
				}
				return
			}
		default:
			gone, err := leases.BreakExpired(lockName, ttl, sw.opts.Grace)
			if err != nil {
				sw.fail(err)
				return
			}
			if !gone {
				return
			}
		}
		sw.removed(r, &sw.leases)
	})
	sw.shard.listing = ioFailure(err)
	if err == nil {
		err = ctxErr
	}
	return err
}

// limiter spaces events at most rate per second across goroutines.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
	closing  <-chan struct{} // the store's (Store.closing): its close ends a wait
}

// newLimiter returns a limiter of rate for a scan of the store whose
// Close closes closing (nil: none).
func newLimiter(rate float64, closing <-chan struct{}) *limiter {
	// A rate so small that its interval overflows a Duration waits the
	// longest one, rather than none (a wrapped, negative interval).
	interval := float64(time.Second) / rate
	if interval >= math.MaxInt64 {
		return &limiter{interval: math.MaxInt64, closing: closing}
	}
	return &limiter{interval: time.Duration(interval), closing: closing}
}

func (l *limiter) wait(ctx context.Context) error {
	_, err := l.reserve(ctx)
	return err
}

// reserve waits for the next slot and returns its time, for giveBack. A
// wait that ctx or the store's Close ends gives its slot back; the
// close's error matches ErrClosed, which ends the scan (scanClosed).
func (l *limiter) reserve(ctx context.Context) (time.Time, error) {
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	l.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			l.giveBack(at)
			return time.Time{}, ctx.Err()
		case <-l.closing:
			l.giveBack(at)
			return time.Time{}, fmt.Errorf("waiting for Rate: %w", ErrClosed)
		}
	}
	return at, nil
}

// tryTake takes a slot if one is due now, without waiting.
func (l *limiter) tryTake() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		return false
	}
	l.next = now.Add(l.interval)
	return true
}

// giveBack returns the slot at, reserved and not used, to the next
// caller, unless a later slot was reserved meanwhile: handing it on then
// would put two events closer than the interval.
func (l *limiter) giveBack(at time.Time) {
	l.mu.Lock()
	if l.next.Equal(at.Add(l.interval)) {
		l.next = at
	}
	l.mu.Unlock()
}
