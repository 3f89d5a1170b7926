//go:build linux

package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// The interruption matrix: every public operation of the store (TryLock;
// a Locked's Lock, Load, LoadLockedOnly, Save, Touch, Delete and Unlock; a
// sweep as sessgc runs it, under its fleet lock), on both lock strategies,
// bounded or not, with keys, and on a keyless store (one strategy),
// stopped at each of its steps in turn, and there interrupted each way a
// caller can interrupt it: its context cancelled, its deadline passed,
// the store closed. Then the operation goes on. A step is each place a
// test hook marks: the bounded store's sites, and on either store those
// inside a lock attempt, each use of the store's directory descriptor, a
// locked save's lock checks, a Delete's unlinks, the sweep's moves, a
// rekey's reads, a keyless store's re-read of its marker (its clock moved
// on past KeylessRecheck before each operation), the Observer's report of
// each operation inside it. Whatever the step, once it has returned:
//
//   - it succeeded, or failed with an error matching what the
//     interruption promises (context.Canceled, context.DeadlineExceeded,
//     ErrClosed), and a Close that interrupted it returned nil: never a
//     panic, a hang, or an error that matches none;
//   - no lock is left: another store on the directory takes the session's
//     lock (the stripe's OS lock, or lease, with it) and the fleet lock,
//     and runs a sweep (the sweep's lock); the store itself, unless
//     closed, takes the session's lock;
//   - no goroutine and no descriptor is left once the store is closed,
//     and no temp file or copy aside;
//   - the session holds what it held, or what the write wrote if it
//     succeeded (either, if its error matches ErrInDoubt); every other
//     session is intact.
//
// The steps are those of an uninterrupted run of the same operation,
// recorded first, so that a new step in the code is a new case here.

// stepGate counts the steps of one operation and stops it at one: the
// nth time it reaches a site. By site, not by the order of all steps: a
// scan reports some of its steps from goroutines of its own, whose steps
// interleave with its caller's in no set order.
type stepGate struct {
	mu       sync.Mutex
	armed    bool
	sites    []string       // every step, in the order reached
	seen     map[string]int // steps reached, by site
	stopSite string         // the site to stop at ("": none)
	stopN    int            // the time it is reached to stop at (1: first)
	stopped  chan string
	resume   chan struct{}
	// shift is how far the store's clock is ahead of time.Now: arm
	// moves it on past KeylessRecheck, so that a keyless store re-reads
	// its marker in the operation.
	shift atomic.Int64
}

// now is the store's clock.
func (g *stepGate) now() time.Time { return time.Now().Add(time.Duration(g.shift.Load())) }

func newStepGate() *stepGate {
	return &stepGate{stopped: make(chan string, 1), resume: make(chan struct{})}
}

// hit is every hook of the store: it records site while armed, and
// blocks at the step to stop at until resumed.
func (g *stepGate) hit(site string) {
	g.mu.Lock()
	if !g.armed {
		g.mu.Unlock()
		return
	}
	g.sites = append(g.sites, site)
	g.seen[site]++
	stop := site == g.stopSite && g.seen[site] == g.stopN
	g.mu.Unlock()
	if stop {
		g.stopped <- site
		<-g.resume
	}
}

func (g *stepGate) arm(site string, n int) {
	g.shift.Add(int64(2 * fsstore.KeylessRecheck))
	g.mu.Lock()
	g.armed, g.stopSite, g.stopN, g.sites, g.seen = true, site, n, nil, map[string]int{}
	g.mu.Unlock()
}

// disarm stops recording and returns the sites recorded.
func (g *stepGate) disarm() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = false
	return g.sites
}

// Observe is a step too: the end of an operation, on its caller's
// goroutine (a Lock's, with the lock taken).
func (g *stepGate) Observe(ev fsstore.Event) { g.hit("observe " + ev.Op.String()) }

// hooks sets every step hook of s to g.
func (g *stepGate) hooks(s *fsstore.Store) {
	s.SetLockCheckHookForTest(func(stage string) { g.hit("verify " + stage) })
	s.SetDeleteHookForTest(func(step string) { g.hit("delete " + step) })
	s.SetSweepHooksForTest(nil, func(string) { g.hit("sweep move") }, func(string) { g.hit("sweep settle") })
	s.SetSweepRemoveHookForTest(func(string) { g.hit("sweep remove") })
	s.SetRekeyListedHookForTest(func(string) { g.hit("rekey listed") })
	s.SetRekeyReadHookForTest(func(string) { g.hit("rekey read") })
	s.SetRekeyCheckedHookForTest(func(string) { g.hit("rekey checked") })
	s.SetAsideLookHookForTest(func(string) { g.hit("aside look") })
	s.SetTouchAsideLookHookForTest(func(string) { g.hit("touch aside look") })
	s.SetMarkerUnlockHookForTest(func(what string) { g.hit("marker unlock " + what) })
	s.SetMarkerCheckHookForTest(func(stage string) { g.hit("marker check " + stage) })
}

// imFix is what one case works on: the store s, opened on dir where
// id, other (live) and stale (expired) were saved with "kept".
type imFix struct {
	dir              string
	id, other, stale string
}

// imResult is an operation's outcome: err its error, write the error of
// its write step (errNotWritten when it had none or did not reach it).
type imResult struct {
	err, write error
}

var errNotWritten = errors.New("no write")

// imOp is one operation of the matrix.
type imOp struct {
	name string
	// writes: what id holds after the operation's write succeeded: "new",
	// "gone", or "" (it writes nothing to id).
	writes string
	do     func(ctx context.Context, s *fsstore.Store, f *imFix) imResult
}

// imNew is the payload a write of the matrix writes.
var imNew = []byte("new")

func imLoaded(sess *fsstore.Session, err error) imResult {
	if err == nil && string(sess.Data) != "kept" {
		err = fmt.Errorf("loaded %q, want %q", sess.Data, "kept")
	}
	return imResult{err: err, write: errNotWritten}
}

// imLocked runs steps under id's lock and unlocks it, whatever they
// returned: the caller's part.
func imLocked(ctx context.Context, s *fsstore.Store, f *imFix, steps func(l *fsstore.Locked) imResult) imResult {
	l, err := s.Lock(ctx, f.id, fsstore.Exclusive)
	if err != nil {
		return imResult{err: err, write: errNotWritten}
	}
	r := steps(l)
	if err := l.Unlock(); err != nil && r.err == nil {
		r.err = fmt.Errorf("Unlock: %w", err)
	}
	return r
}

var imOps = []imOp{
	{name: "Load", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imLoaded(s.Load(ctx, f.id))
	}},
	{name: "LoadInto", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imLoaded(s.LoadInto(ctx, f.id, make([]byte, 0, 64)))
	}},
	{name: "Save", writes: "new", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		err := s.Save(ctx, &fsstore.Session{ID: f.id, Data: imNew})
		return imResult{err: err, write: err}
	}},
	{name: "CompareAndSwap", writes: "new", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		sess, err := s.Load(ctx, f.id)
		if err != nil {
			return imResult{err: err, write: errNotWritten}
		}
		sess.Data = imNew
		err = s.CompareAndSwap(ctx, sess)
		return imResult{err: err, write: err}
	}},
	{name: "Touch", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imResult{err: s.Touch(ctx, f.id), write: errNotWritten}
	}},
	{name: "Delete", writes: "gone", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		err := s.Delete(ctx, f.id)
		return imResult{err: err, write: err}
	}},
	{name: "Locked.Save", writes: "new", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imLocked(ctx, s, f, func(l *fsstore.Locked) imResult {
			sess, err := l.LoadLockedOnly(ctx)
			if err == nil && string(sess.Data) != "kept" {
				err = fmt.Errorf("LoadLockedOnly: %q, want %q", sess.Data, "kept")
			}
			if err != nil {
				return imResult{err: err, write: errNotWritten}
			}
			sess.Data = imNew
			err = l.Save(ctx, sess)
			return imResult{err: err, write: err}
		})
	}},
	{name: "TryLock", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		l, err := s.TryLock(f.id, fsstore.Exclusive)
		if err != nil {
			return imResult{err: err, write: errNotWritten}
		}
		if err := l.Unlock(); err != nil {
			return imResult{err: fmt.Errorf("Unlock: %w", err), write: errNotWritten}
		}
		return imResult{write: errNotWritten}
	}},
	{name: "Locked.Load", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imLocked(ctx, s, f, func(l *fsstore.Locked) imResult {
			return imLoaded(l.Load(ctx))
		})
	}},
	{name: "Locked.Touch", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imLocked(ctx, s, f, func(l *fsstore.Locked) imResult {
			return imResult{err: l.Touch(ctx), write: errNotWritten}
		})
	}},
	{name: "Locked.Delete", writes: "gone", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imLocked(ctx, s, f, func(l *fsstore.Locked) imResult {
			err := l.Delete(ctx)
			return imResult{err: err, write: err}
		})
	}},
	{name: "Sweep", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		st, err := s.Sweep(ctx, fsstore.SweepOptions{})
		if err == nil && (st.Sessions != 1 || st.Errors != 0) {
			err = fmt.Errorf("Sweep: %+v, want the expired session removed and no errors", st)
		}
		return imResult{err: err, write: errNotWritten}
	}},
	// As sessgc's run sweeps: under its fleet lock, with its callbacks.
	{name: "Sweep as sessgc", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		h, err := s.TryLockFleet(imFleetLock)
		if err != nil {
			return imResult{err: err, write: errNotWritten}
		}
		var errs []error
		removed := 0
		st, err := s.Sweep(ctx, fsstore.SweepOptions{
			OnError:  func(err error) { errs = append(errs, err) },
			OnRemove: func(fsstore.Removal) { removed++ },
		})
		if err == nil && len(errs) == 0 && (st.Sessions != 1 || removed != 1) {
			err = fmt.Errorf("Sweep: %+v, %d removals reported; want the expired session removed", st, removed)
		}
		if uerr := h.Unlock(); uerr != nil {
			errs = append(errs, fmt.Errorf("fleet lock's Unlock: %w", uerr))
		}
		return imResult{err: errors.Join(append([]error{err}, errs...)...), write: errNotWritten}
	}},
	{name: "Rekey", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		var errs []error
		st, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { errs = append(errs, err) }})
		if err == nil && len(errs) == 0 && st.Rekeyed != 2 {
			err = fmt.Errorf("Rekey: %+v, want 2 records rewritten", st)
		}
		return imResult{err: errors.Join(append([]error{err}, errs...)...), write: errNotWritten}
	}},
	{name: "Stats", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		st, err := s.Stats(ctx, fsstore.StatsOptions{})
		if err == nil && (st.Live != 2 || st.Expired != 1 || st.Errors != 0) {
			err = fmt.Errorf("Stats: %d live, %d expired, %d errors; want 2, 1 and none", st.Live, st.Expired, st.Errors)
		}
		return imResult{err: err, write: errNotWritten}
	}},
	{name: "Health", do: func(ctx context.Context, s *fsstore.Store, f *imFix) imResult {
		return imResult{err: s.Health(ctx), write: errNotWritten}
	}},
}

// imFleetLock is the fleet lock sessgc's sweep takes.
const imFleetLock = "sessgc"

// An interruption of an operation stopped at a step, and the error that
// an operation it ended must match.
type imInterrupt struct {
	name string
	want error
}

var imInterrupts = []imInterrupt{
	{"cancel", context.Canceled},
	{"deadline", context.DeadlineExceeded},
	{"close", fsstore.ErrClosed},
}

// imKeys: the records are written under the first and the store is used
// under the second, deployed by its Open, so that Rekey has work to do.
// The sessions' IDs are the same in every case, so that the scans meet
// the records in the order of the recorded run, and the same steps.
type imKeys struct {
	k1, k2           fsstore.Key
	id, other, stale string
}

type imConfig struct {
	strategy lock.Strategy
	bounded  bool
	keyless  bool // no keys: records in plaintext, the marker re-read
}

func (c imConfig) String() string {
	kind := "unbounded"
	if c.bounded {
		kind = "bounded"
	}
	if c.keyless {
		kind += "/keyless"
	}
	return c.strategy.String() + "/" + kind
}

// opts are the options of a store of c: the one that writes the records
// (setup), or those that use them.
func (c imConfig) opts(keys imKeys, setup bool) []fsstore.Option {
	opts := []fsstore.Option{fsstore.WithLockStrategy(c.strategy)}
	switch {
	case c.keyless:
	case setup:
		opts = append(opts, fsstore.WithKeys(keys.k1))
	default:
		opts = append(opts, fsstore.WithKeys(keys.k2, keys.k1))
	}
	return opts
}

// imConfigs: both lock strategies, bounded or not, with keys; and a
// keyless store, whose saves and loads re-read the marker, on one
// strategy (the strategy changes nothing of that), bounded or not.
var imConfigs = []imConfig{
	{lock.Flock, false, false},
	{lock.Flock, true, false},
	{lock.Lease, false, false},
	{lock.Lease, true, false},
	{lock.Flock, false, true},
	{lock.Flock, true, true},
}

func TestInterruptEveryStep(t *testing.T) {
	keys := imKeys{k1: mustKey(t, 1), k2: mustKey(t, 2), id: newID(t), other: newID(t), stale: newID(t)}
	base := imBase(t)
	for _, cfg := range imConfigs {
		t.Run(cfg.String(), func(t *testing.T) {
			for _, op := range imOps {
				if cfg.keyless && op.name == "Rekey" {
					continue // a keyless store has no key to rekey to
				}
				t.Run(op.name, func(t *testing.T) {
					steps := imRecord(t, base, cfg, keys, op)
					if len(steps) == 0 {
						t.Fatal("no step recorded")
					}
					t.Logf("%d steps: %s", len(steps), strings.Join(steps, ", "))
					seen := map[string]int{}
					for i, site := range steps {
						seen[site]++
						n := seen[site]
						for _, in := range imInterrupts {
							if t.Failed() {
								// A defect costs a case its
								// polls' deadlines: one case
								// of an operation shows it.
								t.SkipNow()
							}
							t.Run(fmt.Sprintf("%02d-%s#%d/%s", i+1, strings.ReplaceAll(site, " ", "-"), n, in.name), func(t *testing.T) {
								imCase(t, base, cfg, keys, op, site, n, in)
							})
						}
					}
				})
			}
		})
	}
}

// imBase returns the directory the cases make their stores in: a tmpfs
// where the test may mount one, whose syncs cost nothing, so that the
// matrix's thousand stores take seconds on a busy disk; else the test's
// temp directory.
func imBase(t *testing.T) string {
	dir := t.TempDir()
	if os.Geteuid() != 0 || syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64m,mode=0755") != nil {
		return dir
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// imSetup makes a store below base with its three sessions and returns
// it; the store is removed at the end of t.
func imSetup(t *testing.T, base string, cfg imConfig, keys imKeys) *imFix {
	t.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp(base, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &imFix{dir: dir, id: keys.id, other: keys.other, stale: keys.stale}
	s, err := fsstore.Open(f.dir, cfg.opts(keys, true)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{f.id, f.other, f.stale} {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(s.RecordPathForTest(f.stale), long, long); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

// imOpen opens the store under test, its hooks set to g.
func imOpen(t *testing.T, cfg imConfig, keys imKeys, dir string, g *stepGate) *fsstore.Store {
	t.Helper()
	opts := append(cfg.opts(keys, false), fsstore.WithTestFSForTest(g.hit), fsstore.WithObserver(g), fsstore.WithClock(g.now))
	if cfg.bounded {
		// No ceiling or breaker of the store's own ends a step: the
		// interruption does.
		opts = append(opts, fsstore.WithMaxInFlight(8), fsstore.WithOpTimeout(time.Hour), fsstore.WithBreaker(1000, time.Hour))
	}
	s, err := fsstore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	g.hooks(s)
	return s
}

// imRecord runs op uninterrupted and returns its steps.
func imRecord(t *testing.T, base string, cfg imConfig, keys imKeys, op imOp) []string {
	f := imSetup(t, base, cfg, keys)
	g := newStepGate()
	s := imOpen(t, cfg, keys, f.dir, g)
	defer s.Close()
	g.arm("", 0)
	r := op.do(context.Background(), s, f)
	steps := g.disarm()
	if r.err != nil {
		t.Fatalf("%s uninterrupted: %v", op.name, r.err)
	}
	return steps
}

// imCase stops op the nth time it reaches site, interrupts it there, lets it go
// on and checks what it left.
func imCase(t *testing.T, base string, cfg imConfig, keys imKeys, op imOp, site string, n int, in imInterrupt) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	f := imSetup(t, base, cfg, keys)
	fds, goroutines := descriptors(t), runtime.NumGoroutine()
	g := newStepGate()
	s := imOpen(t, cfg, keys, f.dir, g)
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()

	var ctx context.Context
	var interrupt func()
	var closeDone chan error // Close's error, when it interrupts
	switch in.name {
	case "cancel":
		c, cancel := context.WithCancel(context.Background())
		defer cancel()
		ctx, interrupt = c, cancel
	case "deadline":
		c := newDeadlineCtx()
		ctx, interrupt = c, c.expire
	case "close":
		ctx = context.Background()
		interrupt = func() {
			closed = true
			closeDone = make(chan error, 1)
			go func() { closeDone <- s.Close() }()
			// Close has begun once a new operation is refused; it may
			// go on waiting for the stopped one's use of the
			// directory, so the stopped one goes on from here.
			if !poll(func() bool {
				_, err := s.Load(context.Background(), "not an ID")
				return errors.Is(err, fsstore.ErrClosed)
			}) {
				t.Fatal("Close did not begin")
			}
		}
	}

	g.arm(site, n)
	done := make(chan imResult, 1)
	go func() { done <- op.do(ctx, s, f) }()
	var r imResult
	select {
	case <-g.stopped:
		interrupt()
		close(g.resume)
		r = imWait(t, done, op.name+" after the interruption")
	case r = <-done:
		// The run took another path than the recorded one: nothing
		// to interrupt.
		t.Skipf("%s returned (%v) before it reached %s %d times", op.name, r.err, site, n)
	}
	g.disarm()
	if closeDone != nil {
		if err := imWait(t, closeDone, "Close"); err != nil {
			t.Errorf("Close while %s was stopped at %s: %v", op.name, site, err)
		}
	}
	// The work of the store's own that the operation left running, if
	// any, ends now that the filesystem answered.
	if cfg.bounded && !poll(func() bool { return s.InFlightForTest() == 0 }) {
		t.Errorf("%d operations still in flight after %s returned", s.InFlightForTest(), op.name)
	}
	if r.err != nil && !errors.Is(r.err, in.want) {
		t.Errorf("%s interrupted (%s) at %s #%d: %v, want success or an error matching %v",
			op.name, in.name, site, n, r.err, in.want)
	}

	// The store's own work given up on ends once the filesystem
	// answered, which it did: the lock it releases in the background
	// is free once polled.
	if !closed {
		var err error
		if !poll(func() bool {
			var l *fsstore.Locked
			if l, err = s.TryLock(f.id, fsstore.Exclusive); err == nil {
				err = l.Unlock()
			}
			return err == nil
		}) {
			t.Errorf("TryLock in the store after the operation: %v, want the session's lock free", err)
		}
		// And it serves on: no slot, breaker or lock of its own is left
		// taken by the interrupted operation.
		if sess, err := s.Load(context.Background(), f.other); err != nil || string(sess.Data) != "kept" {
			t.Errorf("the store's Load after %s: %v, %v; want the session as saved", op.name, sess, err)
		}
		if st := s.Breaker(); st != fsstore.BreakerClosed {
			t.Errorf("the breaker after %s: %v, want closed", op.name, st)
		}
	}
	s2, err := fsstore.Open(f.dir, cfg.opts(keys, false)...)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// Polled: a release may go on in the background (a lock acquired
	// after its caller gave up, one Close left to it).
	free := func(try func() error) bool {
		return poll(func() bool { return try() == nil })
	}
	if !free(func() error {
		var l *fsstore.Locked
		if l, err = s2.TryLock(f.id, fsstore.Exclusive); err == nil {
			err = l.Unlock()
		}
		return err
	}) {
		t.Errorf("TryLock in another store after the operation: %v, want the session's lock free", err)
	}
	if !free(func() error {
		var h *lock.Handle
		if h, err = s2.TryLockFleet(imFleetLock); err == nil {
			err = h.Unlock()
		}
		return err
	}) {
		t.Errorf("TryLockFleet in another store after the operation: %v, want the fleet lock free", err)
	}

	// Nothing saved is lost; a write reported failed was not applied.
	bg := context.Background()
	var states []string
	switch {
	case op.writes == "":
		states = []string{"kept"}
	case r.write == nil:
		states = []string{op.writes}
	case errors.Is(r.write, fsstore.ErrInDoubt):
		states = []string{"kept", op.writes}
	default:
		states = []string{"kept"}
	}
	sess, err := s2.Load(bg, f.id)
	got := "gone"
	switch {
	case err == nil:
		got = string(sess.Data)
	case !errors.Is(err, fsstore.ErrNotFound):
		got = err.Error()
	}
	if !slices.Contains(states, got) {
		t.Errorf("after %s (%v, its write: %v): the session holds %s, want %s", op.name, r.err, r.write, got, strings.Join(states, " or "))
	}
	if sess, err := s2.Load(bg, f.other); err != nil || !bytes.Equal(sess.Data, []byte("kept")) {
		t.Errorf("the other session after %s: %v, %v", op.name, sess, err)
	}

	// The next sweep settles whatever is left, and takes its lock.
	sctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	if st, err := s2.Sweep(sctx, fsstore.SweepOptions{}); err != nil || st.Errors != 0 {
		t.Errorf("a sweep after %s: %+v, %v", op.name, st, err)
	}
	if left := tempFiles(t, f.dir); len(left) > 0 {
		t.Errorf("after %s and a sweep, temp files or copies aside left:\n%s", op.name, strings.Join(left, "\n"))
	}
	s2.Close()
	s.Close()
	closed = true
	if !poll(func() bool {
		return (fds < 0 || descriptors(t) <= fds) && runtime.NumGoroutine() <= goroutines
	}) {
		stacks := ""
		if runtime.NumGoroutine() > goroutines {
			stacks = "\n" + allStacks()
		}
		t.Errorf("after %s and Close: %d descriptors (%d before), %d goroutines (%d before)%s",
			op.name, descriptors(t), fds, runtime.NumGoroutine(), goroutines, stacks)
	}
	runtime.GC()
}

// imWait waits for an operation's result, reporting a hang with every
// goroutine's stack.
func imWait[T any](t *testing.T, done <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	select {
	case r := <-done:
		return r
	case <-timer.C:
		t.Fatalf("%s: no return within a minute\n%s", what, allStacks())
	}
	panic("unreachable")
}
