package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/lock"
)

// fakeFS plays a file server that stops answering: a bounded store calls
// its hook where a system call could block on the server, and a hook at a
// site the test has hung blocks there until the test lets it go. Every
// hang is reported on entered, so tests wait for events, never for time.
type fakeFS struct {
	mu      sync.Mutex
	gates   map[string]chan struct{}
	calls   map[string]int
	entered chan string
}

func newFakeFS() *fakeFS {
	return &fakeFS{gates: map[string]chan struct{}{}, calls: map[string]int{}, entered: make(chan string, 256)}
}

func (f *fakeFS) hook(site string) {
	f.mu.Lock()
	f.calls[site]++
	g := f.gates[site]
	f.mu.Unlock()
	if g != nil {
		f.entered <- site
		<-g
	}
}

// hang makes calls at site block until release is called.
func (f *fakeFS) hang(site string) (release func()) {
	g := make(chan struct{})
	f.mu.Lock()
	f.gates[site] = g
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			if f.gates[site] == g {
				delete(f.gates, site)
			}
			f.mu.Unlock()
			close(g)
		})
	}
}

func (f *fakeFS) count(site string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[site]
}

// await waits for a hung call at site to begin.
func (f *fakeFS) await(t *testing.T, site string) {
	t.Helper()
	select {
	case got := <-f.entered:
		if got != site {
			t.Fatalf("hung at %q, want %q", got, site)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no call reached %q", site)
	}
}

// deadlineCtx is a context whose deadline the test declares passed: its
// expiry is an event, not a time.
type deadlineCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newDeadlineCtx() *deadlineCtx {
	return &deadlineCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }
func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *deadlineCtx) expire() { c.once.Do(func() { close(c.done) }) }

// afterQueue replaces the breaker's timers: each request waits until the
// test fires it.
type afterQueue chan afterReq

type afterReq struct {
	d  time.Duration
	ch chan time.Time
}

func (q afterQueue) after(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	q <- afterReq{d, ch}
	return ch
}

// next returns the breaker's next timer request, which must be for d.
func (q afterQueue) next(t *testing.T, d time.Duration) afterReq {
	t.Helper()
	select {
	case r := <-q:
		if r.d != d {
			t.Fatalf("breaker timer for %v, want %v", r.d, d)
		}
		return r
	case <-time.After(time.Minute):
		t.Fatalf("no breaker timer for %v", d)
	}
	return afterReq{}
}

type boundRecorder struct {
	mu       sync.Mutex
	events   []fsstore.Event
	breakers []fsstore.BreakerState
}

func (r *boundRecorder) Observe(e fsstore.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *boundRecorder) ObserveBreaker(_, to fsstore.BreakerState) {
	r.mu.Lock()
	r.breakers = append(r.breakers, to)
	r.mu.Unlock()
}

// countLate counts op's events marked Late.
func (r *boundRecorder) countLate(op fsstore.Op) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Op == op && e.Late {
			n++
		}
	}
	return n
}

func (r *boundRecorder) count(op fsstore.Op, out fsstore.Outcome) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Op == op && e.Outcome == out {
			n++
		}
	}
	return n
}

func (r *boundRecorder) states() []fsstore.BreakerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fsstore.BreakerState(nil), r.breakers...)
}

type boundFixture struct {
	dir    string
	s      *fsstore.Store
	fs     *fakeFS
	obs    *boundRecorder
	timers afterQueue
	log    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// slots, when set, is read as each late outcome is logged (a line
	// about "its caller"): lines logged with no slot taken go to free.
	slots func() int64
	free  []string
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.slots != nil && bytes.Contains(p, []byte("its caller")) && b.slots() < 1 {
		b.free = append(b.free, string(p))
	}
	return b.b.Write(p)
}

func (b *syncBuffer) watch(slots func() int64) {
	b.mu.Lock()
	b.slots = slots
	b.mu.Unlock()
}

// loggedFree returns the late outcomes logged with no slot taken.
func (b *syncBuffer) loggedFree() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.free...)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newBoundFixture(t *testing.T, opts ...fsstore.Option) *boundFixture {
	t.Helper()
	return newBoundFixtureIn(t, t.TempDir(), opts...)
}

// newBoundFixtureIn is newBoundFixture on dir, which may hold a store.
func newBoundFixtureIn(t *testing.T, dir string, opts ...fsstore.Option) *boundFixture {
	t.Helper()
	f := &boundFixture{dir: dir, fs: newFakeFS(), obs: &boundRecorder{}, timers: make(afterQueue, 64), log: &syncBuffer{}}
	base := []fsstore.Option{
		fsstore.WithMaxInFlight(8),
		fsstore.WithOpTimeout(time.Hour),
		fsstore.WithBreaker(1000, time.Hour),
		fsstore.WithTestFSForTest(f.fs.hook),
		fsstore.WithTestAfterForTest(f.timers.after),
		fsstore.WithObserver(f.obs),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(f.log, nil))),
	}
	s, err := fsstore.Open(f.dir, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	f.log.watch(s.InFlightForTest)
	t.Cleanup(func() { s.Close() })
	return f
}

// settle waits until every operation the store gave up on has returned.
// An operation given up on holds its slot until it has logged and
// reported its late outcome, so that settle means done: settle checks that
// too.
func (f *boundFixture) settle(t *testing.T) {
	t.Helper()
	n := f.s.InFlightForTest()
	if !poll(func() bool { n = f.s.InFlightForTest(); return n <= 0 }) || n < 0 {
		t.Fatalf("%d slots taken once the operations given up on should have returned, want 0", n)
	}
	if free := f.log.loggedFree(); len(free) != 0 {
		t.Fatalf("late outcomes logged after their operation gave back its slot: %q", free)
	}
}

// waitLog waits for a line with substr in the store's log: what an
// operation finished after its caller gave up logs (and reports to the
// Observer), which it does before it gives back its slot, settle or not.
func (f *boundFixture) waitLog(t *testing.T, substr, what string) {
	t.Helper()
	if !poll(func() bool { return strings.Contains(f.log.String(), substr) }) {
		t.Fatalf("%s not logged:\n%s", what, f.log.String())
	}
	if free := f.log.loggedFree(); len(free) != 0 {
		t.Fatalf("late outcomes logged after their operation gave back its slot: %q", free)
	}
}

func mustSave(t *testing.T, s *fsstore.Store, id string, data string) *fsstore.Session {
	t.Helper()
	sess := &fsstore.Session{ID: id, Data: []byte(data)}
	if err := s.Save(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	return sess
}

func isUnavailable(t *testing.T, err error, alsoMatches error) {
	t.Helper()
	if !errors.Is(err, fsstore.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if alsoMatches != nil && !errors.Is(err, alsoMatches) {
		t.Fatalf("err = %v, want it to match %v too", err, alsoMatches)
	}
}

// giveUp runs op with a deadline while the fixture's filesystem hangs at
// site, lets the deadline pass, checks that op gave up (ErrUnavailable and
// the deadline's error: one timeout for the breaker), and returns what
// lets the hung call finish.
func (f *boundFixture) giveUp(t *testing.T, site string, op func(ctx context.Context) error) (release func()) {
	t.Helper()
	release = f.fs.hang(site)
	ctx := newDeadlineCtx()
	errc := make(chan error, 1)
	go func() { errc <- op(ctx) }()
	f.fs.await(t, site)
	ctx.expire()
	isUnavailable(t, <-errc, context.DeadlineExceeded)
	return release
}

// TestBoundGivesUp: an operation whose filesystem call does not return
// fails with ErrUnavailable when the caller's context ends (deadline or
// cancellation) or the store's ceiling passes, while the call is left to
// finish in the background.
func TestBoundGivesUp(t *testing.T) {
	id := newID(t)
	for _, tc := range []struct {
		name    string
		opts    []fsstore.Option
		ctx     func() (context.Context, func())
		matches error
	}{
		{"deadline", nil, func() (context.Context, func()) { c := newDeadlineCtx(); return c, c.expire }, context.DeadlineExceeded},
		{"cancel", nil, func() (context.Context, func()) { return context.WithCancel(context.Background()) }, context.Canceled},
		// Generous: at 1 ms the operation once gave up before it
		// reached the hang, in a CI run under -race on a busy machine.
		{"ceiling", []fsstore.Option{fsstore.WithOpTimeout(time.Second)}, func() (context.Context, func()) { return context.Background(), func() {} }, nil},
	} {
		for _, op := range []struct {
			site string
			do   func(ctx context.Context, s *fsstore.Store) error
		}{
			{"load", func(ctx context.Context, s *fsstore.Store) error { _, err := s.Load(ctx, id); return err }},
			{"save", func(ctx context.Context, s *fsstore.Store) error {
				return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
			}},
			{"touch", func(ctx context.Context, s *fsstore.Store) error { return s.Touch(ctx, id) }},
			{"delete", func(ctx context.Context, s *fsstore.Store) error { return s.Delete(ctx, id) }},
			{"compare-and-swap", func(ctx context.Context, s *fsstore.Store) error {
				return s.CompareAndSwap(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")})
			}},
			{"lock", func(ctx context.Context, s *fsstore.Store) error {
				l, err := s.Lock(ctx, newID(t), fsstore.Exclusive)
				if err == nil {
					l.Unlock()
				}
				return err
			}},
		} {
			t.Run(tc.name+"/"+op.site, func(t *testing.T) {
				f := newBoundFixture(t, tc.opts...)
				mustSave(t, openPlain(t, f.dir), id, "v1")
				release := f.fs.hang(op.site)
				defer release()
				ctx, end := tc.ctx()
				defer end()
				errc := make(chan error, 1)
				go func() { errc <- op.do(ctx, f.s) }()
				f.fs.await(t, op.site)
				end()
				err := <-errc // returned while the call still hangs
				isUnavailable(t, err, tc.matches)
				if n := f.s.InFlightForTest(); n != 1 {
					t.Fatalf("in flight %d while the call hangs, want 1 (the bound counts it)", n)
				}
				if n := f.obs.count(fsstore.OpLoad, fsstore.OutcomeUnavailable) + f.obs.count(fsstore.OpSave, fsstore.OutcomeUnavailable) +
					f.obs.count(fsstore.OpTouch, fsstore.OutcomeUnavailable) + f.obs.count(fsstore.OpDelete, fsstore.OutcomeUnavailable) +
					f.obs.count(fsstore.OpCompareAndSwap, fsstore.OutcomeUnavailable) + f.obs.count(fsstore.OpLockWait, fsstore.OutcomeUnavailable); n != 1 {
					t.Fatalf("%d unavailable events, want 1", n)
				}
				release()
				f.settle(t)
			})
		}
	}
}

// TestBoundFull: the bound counts operations still stuck in the kernel
// after their callers gave up, and a new operation that finds it full
// fails at once, without touching the filesystem.
func TestBoundFull(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithMaxInFlight(2))
	id := newID(t)
	mustSave(t, f.s, id, "v1")
	release := f.fs.hang("load")
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := f.s.Load(ctx, id); errc <- err }()
		f.fs.await(t, "load")
		cancel()
		isUnavailable(t, <-errc, context.Canceled)
	}
	before := f.fs.count("save")
	err := f.s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("v2")})
	isUnavailable(t, err, nil)
	if !strings.Contains(err.Error(), "WithMaxInFlight") {
		t.Errorf("error %q does not name the bound", err)
	}
	if f.fs.count("save") != before {
		t.Fatal("an operation over the bound reached the filesystem")
	}
	release()
	f.settle(t)
	if _, err := f.s.Load(context.Background(), id); err != nil {
		t.Fatalf("after the stuck calls returned: %v", err)
	}
}

// TestBreaker: after the configured number of timeouts in a row the
// breaker opens and operations fail fast without reaching the filesystem;
// after the cool-down one probe runs, and its answer closes the breaker.
// A probe stuck past the ceiling leaves it open (state back from probing)
// and is not repeated; its late answer closes it.
func TestBreaker(t *testing.T) {
	for _, stuckProbe := range []bool{false, true} {
		name := "probe-answers"
		if stuckProbe {
			name = "probe-late"
		}
		t.Run(name, func(t *testing.T) {
			const cooldown = 7 * time.Second
			f := newBoundFixture(t, fsstore.WithBreaker(2, cooldown))
			id := newID(t)
			mustSave(t, f.s, id, "v1")

			release := f.fs.hang("load")
			for i := 0; i < 2; i++ {
				if got := f.s.Breaker(); got != fsstore.BreakerClosed {
					t.Fatalf("breaker %v after %d timeouts, want closed", got, i)
				}
				ctx := newDeadlineCtx()
				errc := make(chan error, 1)
				go func() { _, err := f.s.Load(ctx, id); errc <- err }()
				f.fs.await(t, "load")
				ctx.expire()
				isUnavailable(t, <-errc, context.DeadlineExceeded)
			}
			if got := f.s.Breaker(); got != fsstore.BreakerOpen {
				t.Fatalf("breaker %v after 2 timeouts, want open", got)
			}
			loads := f.fs.count("load")
			_, err := f.s.Load(context.Background(), id)
			isUnavailable(t, err, nil)
			if f.fs.count("load") != loads {
				t.Fatal("an operation ran while the breaker was open")
			}
			if err := f.s.Health(context.Background()); !errors.Is(err, fsstore.ErrUnavailable) {
				t.Fatalf("Health with the breaker open: %v", err)
			}
			release()
			f.settle(t)
			if got := f.s.Breaker(); got != fsstore.BreakerOpen {
				t.Fatalf("breaker %v once the stuck calls returned, want open until a probe", got)
			}

			releaseProbe := f.fs.hang("probe")
			f.timers.next(t, cooldown).ch <- time.Now()
			f.fs.await(t, "probe")
			overdue := f.timers.next(t, time.Hour) // the ceiling
			if got := f.s.Breaker(); got != fsstore.BreakerProbing {
				t.Fatalf("breaker %v with a probe in flight, want probing", got)
			}
			if stuckProbe {
				overdue.ch <- time.Now()
				eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerOpen }, "the breaker state")
			}
			releaseProbe()
			eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerClosed }, "the breaker state")
			if f.fs.count("probe") != 1 {
				t.Fatalf("%d probes, want 1", f.fs.count("probe"))
			}
			if _, err := f.s.Load(context.Background(), id); err != nil {
				t.Fatalf("after the breaker closed: %v", err)
			}
			want := []fsstore.BreakerState{fsstore.BreakerOpen, fsstore.BreakerProbing, fsstore.BreakerClosed}
			if stuckProbe {
				want = []fsstore.BreakerState{fsstore.BreakerOpen, fsstore.BreakerProbing, fsstore.BreakerOpen, fsstore.BreakerClosed}
			}
			// The state changes first; the Observer's call and the log
			// line follow it on the breaker's goroutine.
			poll(func() bool {
				return equalStates(f.obs.states(), want) && strings.Contains(f.log.String(), "available again")
			})
			if got := f.obs.states(); !equalStates(got, want) {
				t.Fatalf("breaker states %v, want %v", got, want)
			}
			log := f.log.String()
			if strings.Count(log, "session store unavailable") != 1 || strings.Count(log, "available again") != 1 {
				t.Fatalf("want the opening and the closing logged once each:\n%s", log)
			}
		})
	}
}

// TestBreakerProbeOpens: the breaker's probe closes it only once the
// server takes an open too, not on the attribute fetch alone, which a
// server in its grace period after a restart answers while it refuses
// opens; a probe waiting for its open leaves the breaker open.
func TestBreakerProbeOpens(t *testing.T) {
	const cooldown = 3 * time.Second
	f := newBoundFixture(t, fsstore.WithBreaker(1, cooldown))
	release := f.fs.hang("load")
	ctx := newDeadlineCtx()
	errc := make(chan error, 1)
	go func() { _, err := f.s.Load(ctx, newID(t)); errc <- err }()
	f.fs.await(t, "load")
	ctx.expire()
	isUnavailable(t, <-errc, nil)
	release()
	f.settle(t)

	releaseOpen := f.fs.hang("probe-open")
	defer releaseOpen()
	f.timers.next(t, cooldown).ch <- time.Now()
	overdue := f.timers.next(t, time.Hour) // the probe's ceiling
	entered := false
	if !poll(func() bool {
		select {
		case site := <-f.fs.entered:
			entered = site == "probe-open"
		default:
		}
		return entered || f.s.Breaker() == fsstore.BreakerClosed
	}) || !entered {
		t.Fatalf("breaker %v with the probe's open not reached, want it to wait for that open", f.s.Breaker())
	}
	overdue.ch <- time.Now()
	eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerOpen }, "the breaker open again, its probe overdue")
	releaseOpen()
	eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerClosed }, "the breaker closed by the probe's late answer")
}

// TestBreakerProbeFails: a probe answered with an error keeps the breaker
// open and the next probe comes after another cool-down.
func TestBreakerProbeFails(t *testing.T) {
	const cooldown = 3 * time.Second
	f := newBoundFixture(t, fsstore.WithBreaker(1, cooldown))
	id := newID(t)
	release := f.fs.hang("load")
	ctx := newDeadlineCtx()
	errc := make(chan error, 1)
	go func() { _, err := f.s.Load(ctx, id); errc <- err }()
	f.fs.await(t, "load")
	ctx.expire()
	isUnavailable(t, <-errc, nil)
	release()
	f.settle(t)

	// The probe fetches the data directory's attributes: without it, the
	// server answers with an error.
	data := filepath.Join(f.dir, "data")
	if err := os.Rename(data, data+".away"); err != nil {
		t.Fatal(err)
	}
	// A missing data/ alone is healthy (the store recreates it): the probe
	// then asks about the marker, which must be gone too.
	marker := filepath.Join(f.dir, fsstore.MarkerFile)
	if err := os.Rename(marker, marker+".away"); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(marker+".away", marker)
	f.timers.next(t, cooldown).ch <- time.Now()
	f.timers.next(t, time.Hour) // the probe's ceiling, never fired
	f.timers.next(t, cooldown)  // the probe failed: another cool-down
	if got := f.s.Breaker(); got != fsstore.BreakerOpen {
		t.Fatalf("breaker %v after a failed probe, want open", got)
	}
	if err := os.Rename(data+".away", data); err != nil {
		t.Fatal(err)
	}
}

func equalStates(a, b []fsstore.BreakerState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// givenUp is a locked save whose caller gave up while it hung (see
// giveUpLockedSave).
type givenUp struct {
	id      string
	l       *fsstore.Locked
	sess    *fsstore.Session // the caller's copy, as the save left it
	loaded  uint64           // its version as loaded
	err     error            // what the caller got
	release func()           // lets the hung call go on
}

// giveUpLockedSave saves "v1" to a new session, locks and loads it, and
// starts a Locked.Save of data that hangs at the fake filesystem's site;
// its caller then gives up (its context is canceled).
func giveUpLockedSave(t *testing.T, f *boundFixture, site, data string) givenUp {
	t.Helper()
	g := givenUp{id: newID(t)}
	mustSave(t, f.s, g.id, "v1")
	var err error
	if g.l, err = f.s.Lock(context.Background(), g.id, fsstore.Exclusive); err != nil {
		t.Fatal(err)
	}
	if g.sess, err = g.l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.loaded = g.sess.Version
	g.release = f.fs.hang(site)
	g.sess.Data = []byte(data)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- g.l.Save(ctx, g.sess) }()
	f.fs.await(t, site)
	cancel()
	g.err = <-errc
	return g
}

// TestLateSave: a Locked.Save given up on before its rename skips it; one
// given up on after its rename began is applied late and reported. Either
// way the session's lock stays held until the save has returned, and no
// other operation runs under the lock meanwhile.
func TestLateSave(t *testing.T) {
	for _, tc := range []struct {
		site    string
		applied bool
	}{
		{"save", false},  // hung before the rename: skipped
		{"commit", true}, // hung in the rename: applied late
	} {
		t.Run(tc.site, func(t *testing.T) {
			f := newBoundFixture(t)
			g := giveUpLockedSave(t, f, tc.site, "v2")
			id, l, sess, err, release := g.id, g.l, g.sess, g.err, g.release
			isUnavailable(t, err, context.Canceled)
			if got := errors.Is(err, fsstore.ErrInDoubt); got != tc.applied {
				t.Errorf("error %q: matches ErrInDoubt: %v, want %v", err, got, tc.applied)
			}
			if sess.Version != g.loaded {
				t.Fatalf("the caller's session changed: version %d, loaded %d", sess.Version, g.loaded)
			}
			// The lock is in doubt: later operations under it fail, and
			// Unlock leaves the release to the save.
			if _, err := l.Load(context.Background()); !errors.Is(err, fsstore.ErrUnavailable) {
				t.Fatalf("Load after a save given up on: %v", err)
			}
			isUnavailable(t, l.Unlock(), nil)
			other := openPlain(t, f.dir)
			if l2, err := other.TryLock(id, fsstore.Exclusive); err == nil {
				l2.Unlock()
				t.Fatal("the lock was released while the save given up on could still write")
			}

			release()
			f.settle(t)
			waitReleased(t, other, id)
			got, err := other.Load(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			want := "v1"
			if tc.applied {
				want = "v2"
			}
			if string(got.Data) != want {
				t.Fatalf("record holds %q, want %q", got.Data, want)
			}
			if tc.applied {
				f.waitLog(t, "applied after its caller was told", "late save")
			}
			if late := f.obs.count(fsstore.OpSave, fsstore.OutcomeLate); late != map[bool]int{false: 0, true: 1}[tc.applied] {
				t.Fatalf("%d late saves reported", late)
			}
			if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.s.RecordPathForTest(id)), ".tmp-*")); len(tmps) != 0 {
				t.Fatalf("temp files left: %v", tmps)
			}
		})
	}
}

// TestLateCompareAndSwap: a compare-and-swap given up on in its rename is
// applied late, and reported so before it gives back its slot: once the
// slots are free (settle), the outcome is there to see.
func TestLateCompareAndSwap(t *testing.T) {
	f := newBoundFixture(t)
	id := newID(t)
	v1 := mustSave(t, f.s, id, "v1")
	release := f.fs.hang("commit")
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- f.s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Version: v1.Version, Data: []byte("v2")})
	}()
	f.fs.await(t, "commit")
	cancel()
	err := <-errc
	isUnavailable(t, err, context.Canceled)
	if !errors.Is(err, fsstore.ErrInDoubt) {
		t.Errorf("error %q does not match ErrInDoubt", err)
	}
	release()
	f.settle(t)
	if n := f.obs.count(fsstore.OpCompareAndSwap, fsstore.OutcomeLate); n != 1 {
		t.Fatalf("%d late compare-and-swaps reported once the slots were free, want 1", n)
	}
	// Counted once for its caller (unavailable) and once when it landed
	// (Late), as Event.Late says: no more.
	if n, late := f.obs.count(fsstore.OpCompareAndSwap, fsstore.OutcomeUnavailable), f.obs.countLate(fsstore.OpCompareAndSwap); n != 1 || late != 1 {
		t.Fatalf("compare-and-swap reported unavailable %d times and late %d times, want once each", n, late)
	}
	got, err := f.s.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "v2" {
		t.Fatalf("after the late compare-and-swap the record holds %q, want v2", got.Data)
	}
}

// TestLateSaveLockLost: a save applied late under a lock lost meanwhile is
// reported as a lost lock, not as a success (the lost-lock verification
// runs after the rename, as for any save), also when the directory fsync
// after its rename failed (DurabilityFull): the write was applied, but
// the lost lock is what matters.
func TestLateSaveLockLost(t *testing.T) {
	for _, dirSyncFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "synced", true: "dir-sync-failed"}[dirSyncFails], func(t *testing.T) {
			opts := []fsstore.Option{fsstore.WithLockStrategy(lock.Lease)}
			if dirSyncFails {
				opts = append(opts, fsstore.WithDurability(fsstore.DurabilityFull))
			}
			f := newBoundFixture(t, opts...)
			g := giveUpLockedSave(t, f, "commit", "v2")
			isUnavailable(t, g.err, nil)
			// Another host breaks the lease meanwhile.
			if err := os.Remove(filepath.Join(f.dir, "locks", f.s.StripeForTest(g.id)+".lease")); err != nil {
				t.Fatal(err)
			}
			if dirSyncFails {
				f.s.SetDirSyncForTest(func(int) error { return syscall.EIO })
			}
			g.release()
			f.settle(t)
			f.waitLog(t, "found its lock lost", "the late save's lost lock")
			if n := f.obs.count(fsstore.OpSave, fsstore.OutcomeLockLost); n != 1 {
				t.Fatalf("%d late saves reported as lock lost, want 1", n)
			}
			if n := f.obs.count(fsstore.OpSave, fsstore.OutcomeLate); n != 0 {
				t.Fatalf("a late save under a lost lock was reported as applied")
			}
			if n := f.obs.countLate(fsstore.OpSave); n != 1 {
				t.Fatalf("%d save events marked Late, want the one lost lock", n)
			}
		})
	}
}

// TestLateLock: a lock acquired after its waiter gave up is released at
// once; a wait for another holder that ends with the context is ErrLocked
// as before, not ErrUnavailable, and does not count toward the breaker.
func TestLateLock(t *testing.T) {
	t.Run("acquired-late", func(t *testing.T) {
		f := newBoundFixture(t)
		id := newID(t)
		release := f.fs.hang("lock")
		ctx := newDeadlineCtx()
		errc := make(chan error, 1)
		go func() { _, err := f.s.Lock(ctx, id, fsstore.Exclusive); errc <- err }()
		f.fs.await(t, "lock")
		ctx.expire()
		isUnavailable(t, <-errc, context.DeadlineExceeded)
		// The lock, acquired after all, is released: a round trip
		// that may hang, which holds a slot.
		releaseUnlock := f.fs.hang("unlock")
		defer releaseUnlock()
		release()
		f.fs.await(t, "unlock")
		if n := f.s.InFlightForTest(); n != 1 {
			t.Errorf("%d slots taken while the release of a lock acquired late hangs, want 1", n)
		}
		releaseUnlock()
		f.settle(t)
		f.waitLog(t, "acquired after its caller gave up", "late lock") // logged once released
		other := openPlain(t, f.dir)
		l, err := other.TryLock(id, fsstore.Exclusive)
		if err != nil {
			t.Fatalf("lock acquired late not released: %v", err)
		}
		l.Unlock()
	})
	t.Run("held-elsewhere", func(t *testing.T) {
		f, _, held, ctx, errc := waitBehindThisProcess(t, lockAndUnlock)
		defer held.Unlock()
		ctx.expire()
		lockWaitTimedOut(t, f, <-errc)
	})
}

// loadHung locks a new session and starts a Load under it that hangs at
// the "load" site. It returns the lock, the session's ID, the release of
// the hang (run at the test's end too) and the Load's outcome.
func (f *boundFixture) loadHung(t *testing.T) (l *fsstore.Locked, id string, release func(), done <-chan error) {
	t.Helper()
	id = newID(t)
	l, err := f.s.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	release = f.fs.hang("load")
	t.Cleanup(release)
	errc := make(chan error, 1)
	go func() { _, err := l.Load(context.Background()); errc <- err }()
	f.fs.await(t, "load")
	return l, id, release, errc
}

// TestReleaseLeftToTheOperation: Unlock called while an operation on the
// session is under way leaves the release to that operation (nothing may
// be written under a lock given back). The release is a round trip that
// may hang; the operation's caller must have its outcome without waiting
// for it.
func TestReleaseLeftToTheOperation(t *testing.T) {
	f := newBoundFixture(t)
	l, id, releaseLoad, errc := f.loadHung(t)
	if err := l.Unlock(); err != nil {
		t.Fatalf("Unlock during a load: %v", err)
	}
	releaseUnlock := f.fs.hang("unlock")
	defer releaseUnlock()
	releaseLoad()
	select {
	case err := <-errc:
		if !errors.Is(err, fsstore.ErrNotFound) {
			t.Fatalf("Load = %v, want ErrNotFound", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the Load waited for the release of the lock that Unlock left to it")
	}
	f.fs.await(t, "unlock")
	if n := f.s.InFlightForTest(); n != 1 {
		t.Errorf("%d slots taken while the release left to the operation hangs, want 1", n)
	}
	releaseUnlock()
	f.settle(t)
	waitReleased(t, openPlain(t, f.dir), id)
}

// TestHealth: Health answers nil while the server answers, and
// ErrUnavailable by the caller's deadline while it does not; concurrent
// callers share one probe.
func TestHealth(t *testing.T) {
	// One unanswered probe is one timeout for the breaker, however many
	// callers shared it: two would open this one.
	f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour))
	if err := f.s.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := f.fs.hang("probe")
	defer release()
	before := f.fs.count("probe")
	const callers = 3
	ctxs := make([]*deadlineCtx, callers)
	errc := make(chan error, callers)
	for i := range ctxs {
		ctxs[i] = newDeadlineCtx()
		go func(ctx context.Context) { errc <- f.s.Health(ctx) }(ctxs[i])
	}
	f.fs.await(t, "probe")
	for _, c := range ctxs {
		c.expire()
	}
	for range ctxs {
		isUnavailable(t, <-errc, context.DeadlineExceeded)
	}
	if n := f.fs.count("probe") - before; n != 1 {
		t.Fatalf("%d probes for %d concurrent callers, want 1", n, callers)
	}
	if st := f.s.Breaker(); st != fsstore.BreakerClosed {
		t.Fatalf("breaker %v after one probe that %d callers gave up on, want closed (it opens at 2 timeouts)", st, callers)
	}
	release()
	eventually(t, func() bool { return f.s.Health(context.Background()) == nil }, "health")
}

// TestHealthCountsPerCeiling: a probe that stays unanswered counts toward
// the breaker again once a ceiling has passed, as a hung operation would:
// callers that give up on it later still open the breaker.
func TestHealthCountsPerCeiling(t *testing.T) {
	const ceiling = 20 * time.Millisecond
	f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour), fsstore.WithOpTimeout(ceiling))
	release := f.fs.hang("probe")
	defer release()
	isUnavailable(t, f.s.Health(context.Background()), nil) // at the ceiling
	if st := f.s.Breaker(); st != fsstore.BreakerClosed {
		t.Fatalf("breaker %v after one timeout, want closed (it opens at 2)", st)
	}
	// The clock passing a ceiling, not an event.
	for start := time.Now(); time.Since(start) <= ceiling; {
		time.Sleep(ceiling / 4)
	}
	isUnavailable(t, f.s.Health(context.Background()), nil) // shares the hung probe
	if st := f.s.Breaker(); st != fsstore.BreakerOpen {
		t.Fatalf("breaker %v after a probe went unanswered for two ceilings, want open", st)
	}
}

// TestHealthCeilingEndCountsOnce: a caller that gives up on a hung probe
// at the end of its first ceiling gives up in that ceiling, which a caller
// with an earlier deadline has counted already: one ceiling, one timeout.
// A caller that comes once the first ceiling has passed counts the second.
func TestHealthCeilingEndCountsOnce(t *testing.T) {
	const ceiling = time.Hour // the fixture's
	start := time.Now()
	var mu sync.Mutex
	now := start
	setClock := func(d time.Duration) {
		mu.Lock()
		now = start.Add(d)
		mu.Unlock()
	}
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour), fsstore.WithHealthClockForTest(clock))
	release := f.fs.hang("probe")
	defer release()

	ctx := newDeadlineCtx()
	errc := make(chan error, 1)
	go func() { errc <- f.s.Health(ctx) }()
	f.fs.await(t, "probe")
	setClock(time.Minute)
	ctx.expire()
	isUnavailable(t, <-errc, context.DeadlineExceeded)

	setClock(ceiling) // a caller's timer for the first ceiling fires
	isUnavailable(t, f.s.Health(context.Background()), nil)
	if st := f.s.Breaker(); st != fsstore.BreakerClosed {
		t.Fatalf("breaker %v after a probe went unanswered for one ceiling, want closed (it opens at 2 timeouts)", st)
	}

	setClock(ceiling + time.Minute)
	isUnavailable(t, f.s.Health(context.Background()), nil)
	if st := f.s.Breaker(); st != fsstore.BreakerOpen {
		t.Fatalf("breaker %v after a probe went unanswered into its second ceiling, want open", st)
	}
}

// TestBreakerCountsNoAnsweredGiveUps: callers whose deadlines end while
// their calls are out, calls that the server then answers, gave up on a
// server that answers: however many in a row, they do not open the
// breaker. Calls that get no answer still do.
func TestBreakerCountsNoAnsweredGiveUps(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour))
	id := newID(t)
	mustSave(t, f.s, id, "v1")
	giveUp := func() (release func()) {
		t.Helper()
		return f.giveUp(t, "load", func(ctx context.Context) error { _, err := f.s.Load(ctx, id); return err })
	}
	for i := 1; i <= 3; i++ {
		giveUp()()
		f.settle(t) // the load has its answer
		if st := f.s.Breaker(); st != fsstore.BreakerClosed {
			t.Fatalf("breaker %v after %d loads given up on by their deadlines and answered, want closed", st, i)
		}
	}
	for i := 0; i < 2; i++ {
		defer giveUp()()
	}
	if st := f.s.Breaker(); st != fsstore.BreakerOpen {
		t.Fatalf("breaker %v after 2 loads without an answer, want open", st)
	}
}

// TestHealthEndedContext: Health with a context that has ended already
// asks nothing and counts no timeout: the caller gave up, not the server.
func TestHealthEndedContext(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithBreaker(1, time.Hour))
	release := f.fs.hang("probe")
	defer release()
	ctx := newDeadlineCtx()
	ctx.expire()
	isUnavailable(t, f.s.Health(ctx), context.DeadlineExceeded)
	if n := f.fs.count("probe"); n != 0 {
		t.Errorf("%d probes for a context ended before Health, want 0", n)
	}
	if st := f.s.Breaker(); st != fsstore.BreakerClosed {
		t.Errorf("breaker %v after Health with an ended context, want closed", st)
	}
}

// TestBoundSweepSlowCallback: a Sweep whose OnRemove, the caller's own
// code, is still running a ceiling after ctx ended is not given up on,
// and the breaker does not count it: the server did not fail to answer.
// Range's fn is judged so too (TestBoundRangeSlowCallback).
func TestBoundSweepSlowCallback(t *testing.T) {
	// Generous, as TestBoundGivesUp's ceiling: the sweep's own work after
	// the callback returns must fit in it.
	const ceiling = time.Second
	f := newBoundFixture(t, fsstore.WithOpTimeout(ceiling), fsstore.WithBreaker(1, time.Hour), fsstore.WithIdleTimeout(time.Minute))
	id := newID(t)
	mustSave(t, f.s, id, "x")
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(f.s.RecordPathForTest(id), old, old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered, leave := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, err := f.s.Sweep(ctx, fsstore.SweepOptions{OnRemove: func(fsstore.Removal) {
			close(entered)
			<-leave
		}})
		errc <- err
	}()
	<-entered
	cancel()
	// The clock passing a ceiling, not an event.
	for start := time.Now(); time.Since(start) <= 2*ceiling; {
		time.Sleep(ceiling / 4)
	}
	select {
	case err := <-errc:
		t.Fatalf("Sweep returned %v while its OnRemove still ran", err)
	default:
	}
	close(leave)
	if err := <-errc; errors.Is(err, fsstore.ErrUnavailable) {
		t.Fatalf("Sweep = %v once its OnRemove returned, want no ErrUnavailable", err)
	}
	if st := f.s.Breaker(); st != fsstore.BreakerClosed {
		t.Fatalf("breaker %v after a slow OnRemove, want closed", st)
	}
}

// TestRefusedReleasesLater: an operation under a Locked that the store
// refuses (bound full, breaker open) may be the one left to release the
// lock (Unlock was called while operations ran). That release is a round
// trip that may hang: the refused caller must have its error at once.
func TestRefusedReleasesLater(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithMaxInFlight(1))
	// A holds the one slot, hung; B is refused and stops before it ends.
	l, id, releaseLoad, errA := f.loadHung(t)
	releaseRefused := f.fs.hang("refused")
	defer releaseRefused()
	errB := make(chan error, 1)
	go func() { errB <- l.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("b")}) }()
	f.fs.await(t, "refused")
	// Unlock leaves the release to the operations; A ends first, so the
	// release falls to B.
	if err := l.Unlock(); err != nil {
		t.Fatalf("Unlock during operations: %v", err)
	}
	releaseLoad()
	if err := <-errA; !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load = %v, want ErrNotFound", err)
	}
	releaseUnlock := f.fs.hang("unlock")
	defer releaseUnlock()
	releaseRefused()
	select {
	case err := <-errB:
		isUnavailable(t, err, nil)
	case <-time.After(time.Minute):
		t.Fatal("the refused Save waited for the release of the lock left to it")
	}
	f.fs.await(t, "unlock")
	releaseUnlock()
	f.settle(t)
	waitReleased(t, openPlain(t, f.dir), id)
}

func TestBoundOptionsValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  fsstore.Option
	}{
		{"negative-in-flight", fsstore.WithMaxInFlight(-1)},
		{"huge-in-flight", fsstore.WithMaxInFlight(1<<16 + 1)},
		{"zero-timeout", fsstore.WithOpTimeout(0)},
		{"zero-failures", fsstore.WithBreaker(0, time.Second)},
		{"zero-cooldown", fsstore.WithBreaker(1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := fsstore.Open(t.TempDir(), tc.opt); err == nil {
				s.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func openPlain(t *testing.T, dir string) *fsstore.Store {
	t.Helper()
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitReleased waits until other, a store on the same directory, can take
// id's lock: a release left to the background has happened.
func waitReleased(t *testing.T, other *fsstore.Store, id string) {
	t.Helper()
	eventually(t, func() bool {
		l, err := other.TryLock(id, fsstore.Exclusive)
		if err == nil {
			l.Unlock()
		}
		return err == nil
	}, "the lock's release")
}

// eventually polls cond until it holds, failing after a minute: the
// events it waits for come from goroutines the test does not join.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("gave up waiting for %s", what)
	}
}

// poll reports whether cond held within a minute, for callers whose
// failure says more than eventually's.
func poll(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}
	return true
}

// TestBoundScan: a sweep, stats, rekey or range pass stuck in a system call
// returns ErrUnavailable the ceiling after its context ends, holding one
// slot until the call returns; refused while the breaker is open.
func TestBoundScan(t *testing.T) {
	for _, tc := range []struct {
		site string
		run  func(ctx context.Context, s *fsstore.Store) error
	}{
		{"sweep", func(ctx context.Context, s *fsstore.Store) error {
			_, err := s.Sweep(ctx, fsstore.SweepOptions{})
			return err
		}},
		{"stats", func(ctx context.Context, s *fsstore.Store) error {
			_, err := s.Stats(ctx, fsstore.StatsOptions{})
			return err
		}},
		{"rekey", func(ctx context.Context, s *fsstore.Store) error {
			_, err := s.Rekey(ctx, fsstore.RekeyOptions{})
			return err
		}},
		{"range", func(ctx context.Context, s *fsstore.Store) error {
			_, err := s.Range(ctx, func(*fsstore.Record) bool { return true })
			return err
		}},
	} {
		t.Run(tc.site, func(t *testing.T) {
			f := newBoundFixture(t, fsstore.WithOpTimeout(time.Millisecond), fsstore.WithBreaker(1, time.Hour), fsstore.WithKeys(fsstore.Key{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}))
			if err := tc.run(context.Background(), f.s); err != nil {
				t.Fatalf("healthy %s: %v", tc.site, err)
			}
			release := f.fs.hang(tc.site)
			defer release()
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- tc.run(ctx, f.s) }()
			f.fs.await(t, tc.site)
			cancel()
			isUnavailable(t, <-errc, context.Canceled)
			if n := f.s.InFlightForTest(); n != 1 {
				t.Fatalf("in flight %d, want 1", n)
			}
			if got := f.s.Breaker(); got != fsstore.BreakerOpen {
				t.Fatalf("breaker %v, want open", got)
			}
			isUnavailable(t, tc.run(context.Background(), f.s), nil)
			release()
			f.settle(t)
		})
	}
}

// TestBoundClose: Close of a bounded store whose directory is still in
// use by a stuck call returns ErrUnavailable after the ceiling instead of
// waiting for the server; the close completes once the call returns.
func TestBoundClose(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithOpTimeout(time.Millisecond))
	id := newID(t)
	release := f.fs.hang("root")
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- f.s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}) }()
	f.fs.await(t, "root") // inside the save, holding the store's directory
	isUnavailable(t, <-errc, nil)
	isUnavailable(t, f.s.Close(), nil)
	if _, err := f.s.Load(context.Background(), id); !errors.Is(err, fsstore.ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
	release()
	f.settle(t)
}

// TestBoundFullWhileWaiting: a lock waiter whose poll finds every slot
// taken (other waiters' polls, or calls stuck in the kernel) keeps waiting
// while the breaker is closed, and is granted the lock once its holder lets
// go; only an open breaker fails it. The first attempt of an operation is
// still refused at once when the bound is full (TestBoundFull).
func TestBoundFullWhileWaiting(t *testing.T) {
	ops := []struct {
		name string
		run  func(s *fsstore.Store, id string) error
	}{
		{"Lock", func(s *fsstore.Store, id string) error {
			l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
			if err == nil {
				err = l.Unlock()
			}
			return err
		}},
		{"CompareAndSwap", func(s *fsstore.Store, id string) error {
			return s.CompareAndSwap(context.Background(), &fsstore.Session{ID: id, Data: []byte("w")})
		}},
	}
	for _, op := range ops {
		for _, breakerOpens := range []bool{false, true} {
			name := op.name + "/breaker-closed"
			if breakerOpens {
				name = op.name + "/breaker-opens"
			}
			t.Run(name, func(t *testing.T) {
				failures := 1000
				if breakerOpens {
					failures = 1
				}
				f := newBoundFixture(t, fsstore.WithMaxInFlight(1), fsstore.WithBreaker(failures, time.Hour))
				id := newID(t)
				held, err := openPlain(t, f.dir).Lock(context.Background(), id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				defer held.Unlock()
				errc := make(chan error, 1)
				go func() { errc <- op.run(f.s, id) }()
				eventually(t, func() bool { return f.fs.count("lock") > 0 }, "the waiter's first attempt")

				// Fill the one slot with a load stuck in the kernel and given up
				// on; a load refused because a poll had the slot tries again.
				releaseLoad := f.fs.hang("load")
				defer releaseLoad()
				var releaseRequeue func()
				if !breakerOpens {
					releaseRequeue = f.fs.hang("lock-requeue")
					defer releaseRequeue()
				}
				// The waiter's refusal may be reported before the load's hang.
				requeued := false
				for filled := false; !filled; {
					ctx := newDeadlineCtx()
					lerr := make(chan error, 1)
					go func() { _, err := f.s.Load(ctx, newID(t)); lerr <- err }()
				wait:
					select {
					case site := <-f.fs.entered:
						switch site {
						case "lock-requeue":
							requeued = true
							goto wait
						case "load":
						default:
							t.Fatalf("hung at %q, want load", site)
						}
						ctx.expire()
						isUnavailable(t, <-lerr, context.DeadlineExceeded)
						filled = true
					case err := <-lerr:
						isUnavailable(t, err, nil)
					case err := <-errc:
						t.Fatalf("the waiter ended while its lock was held elsewhere: %v", err)
					}
				}

				if breakerOpens {
					// The store is known not to answer: the waiter stops.
					err := <-errc
					isUnavailable(t, err, nil)
					return
				}
				if !requeued {
					select {
					case err := <-errc:
						t.Fatalf("a waiter refused a slot after it had begun waiting failed: %v", err)
					case site := <-f.fs.entered:
						if site != "lock-requeue" {
							t.Fatalf("hung at %q, want lock-requeue", site)
						}
					case <-time.After(time.Minute):
						t.Fatal("the waiter neither failed nor was refused a slot")
					}
				}
				releaseRequeue()
				releaseLoad()
				if err := held.Unlock(); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; err != nil {
					t.Fatalf("once the holder let go: %v", err)
				}
			})
		}
	}
}

// TestPollsLeaveRoom: lock waiters polling for locks held elsewhere are
// speculative work, and a refused poll only waits for the next one; they
// must not take the slots that work which cannot wait needs. Four waiters
// poll a server that stops answering, on a bound of four: a holder's Load
// and Save and a new visitor's Load still each find a slot (a quarter of
// the bound is kept from polls), and no waiter fails.
func TestPollsLeaveRoom(t *testing.T) {
	const max = 4
	f := newBoundFixture(t, fsstore.WithMaxInFlight(max))
	ctx := context.Background()
	ids := distinctStripeIDs(f.s, "poll", max+2, nil)
	holderID, freshID, waitIDs := ids[0], ids[1], ids[2:]
	mustSave(t, f.s, holderID, "h")
	holder, err := f.s.Lock(ctx, holderID, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	other := openPlain(t, f.dir)
	var held []*fsstore.Locked
	for _, id := range waitIDs {
		l, err := other.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	errc := make(chan error, len(waitIDs))
	for _, id := range waitIDs {
		go func() {
			l, err := f.s.Lock(ctx, id, fsstore.Exclusive)
			if err == nil {
				err = l.Unlock()
			}
			errc <- err
		}()
	}
	// Their first attempts (which may take any slot) are over before the
	// server stops answering; the holder's was the first.
	eventually(t, func() bool { return f.fs.count("lock-first-done") >= 1+len(waitIDs) }, "the waiters' first attempts")

	// The server stops answering lock calls: polls that begin stay in.
	release := f.fs.hang("lock")
	defer release()
	hung := 0
	requeues := -1
	eventually(t, func() bool {
		for {
			select {
			case site := <-f.fs.entered:
				if site != "lock" {
					t.Fatalf("hung at %q, want lock", site)
				}
				if hung++; hung == max-1 {
					requeues = f.fs.count("lock-requeue")
				}
				continue
			case err := <-errc:
				t.Fatalf("a waiter ended while its lock was held elsewhere: %v", err)
			default:
			}
			break
		}
		// All four polls in (as before), or the fourth refused a slot.
		return hung == max || (hung == max-1 && f.fs.count("lock-requeue") > requeues)
	}, "the waiters' polls to fill what they may")

	if _, err := holder.Load(ctx); err != nil {
		t.Errorf("the holder's Load while %d polls are stuck: %v", hung, err)
	}
	if err := holder.Save(ctx, &fsstore.Session{ID: holderID, Data: []byte("h2")}); err != nil {
		t.Errorf("the holder's Save while %d polls are stuck: %v", hung, err)
	}
	if _, err := f.s.Load(ctx, freshID); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("a new visitor's Load while %d polls are stuck: %v, want ErrNotFound", hung, err)
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}

	release()
	for _, l := range held {
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	for range waitIDs {
		if err := <-errc; err != nil {
			t.Errorf("a waiter, once the holders let go: %v", err)
		}
	}
}

// lockKeysID is a valid session ID made of prefix and i.
func lockKeysID(prefix string, i int) string { return fmt.Sprintf("%s%022d", prefix, i) }

// distinctStripeIDs returns n IDs whose stripes differ from each other and
// from those in avoid.
func distinctStripeIDs(s *fsstore.Store, prefix string, n int, avoid map[string]bool) []string {
	seen := map[string]bool{}
	for k := range avoid {
		seen[k] = true
	}
	var ids []string
	for i := 0; len(ids) < n; i++ {
		id := lockKeysID(prefix, i)
		if st := s.StripeForTest(id); !seen[st] {
			seen[st] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// TestCeilingCountsSteps: the store's ceiling bounds each step of an
// operation, not the whole of it. An operation whose steps are each slower
// than half the ceiling, but none slower than the ceiling (a client whose
// CPU is saturated, not a server that does not answer), completes; counted
// from the operation's start it failed with ErrUnavailable ("no answer
// within"), with the server answering every call. The slow steps are
// writing the temp file, the rename, and, for a save under a lock, the
// lock check after the rename, so that each point where the operation
// marks progress lies between two of them.
func TestCeilingCountsSteps(t *testing.T) {
	const (
		ceiling = 2 * time.Second
		step    = ceiling * 6 / 10
	)
	for _, op := range []struct {
		name string
		do   func(ctx context.Context, s *fsstore.Store, id string) error
	}{
		{"save", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
		}},
		{"compare-and-swap", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
		}},
		{"locked-save", func(ctx context.Context, s *fsstore.Store, id string) error {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			return l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			var slow atomic.Bool
			// A slow step is what is under test here, not an event to
			// wait for: hence the sleeps.
			s, err := fsstore.Open(t.TempDir(), fsstore.WithMaxInFlight(8), fsstore.WithOpTimeout(ceiling),
				fsstore.WithTestFSForTest(func(site string) {
					if slow.Load() && (site == "write" || site == "commit") {
						time.Sleep(step)
					}
				}))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.SetLockCheckHookForTest(func(stage string) {
				if slow.Load() && stage == "after" {
					time.Sleep(step)
				}
			})
			slow.Store(true)
			if err := op.do(context.Background(), s, newID(t)); err != nil {
				t.Fatalf("%s with steps of %v each, ceiling %v: %v", op.name, step, ceiling, err)
			}
		})
	}
}

// TestCeilingWaitsWhileOthersAnswered: a step inside the filesystem for
// longer than the ceiling is not given up on while the server keeps
// answering the store's other calls: it is queued behind them (a burst
// fills the NFS client's RPC slots, which serve calls in turn, on a
// saturated CPU), and its answer comes. Counted from the step alone, a
// lock attempt queued behind 64 others in a CPU-starved guest failed with
// "no answer within 10s" while the server answered every other call. A
// step still unanswered at three ceilings is given up on all the same (the
// server holds up one call), and one ceiling after the answers stop (an
// outage that began during the step). Calls the server did not answer
// (here saves refused for their size) say nothing about it.
//
// The store's clock for its steps and answers is the test's: the others'
// calls are made at set readings of it, and the step waits exactly as long
// as the test says, however late this machine runs any goroutine. On the
// real clock, a call meanwhile delayed past the ceiling by a loaded CPU
// made the step given up on as if the answers had stopped.
func TestCeilingWaitsWhileOthersAnswered(t *testing.T) {
	const ceiling = time.Second
	for _, op := range []struct {
		site string
		do   func(s *fsstore.Store, id string) error
	}{
		{"write", func(s *fsstore.Store, id string) error {
			return s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")})
		}},
		{"lock", func(s *fsstore.Store, id string) error {
			l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
			if err == nil {
				err = l.Unlock()
			}
			return err
		}},
	} {
		const (
			answered = "though the filesystem answered other calls meanwhile"
			silent   = "no answer within 1s"
		)
		tooLarge := make([]byte, 1<<20+1) // past the default WithMaxSize
		for _, tc := range []struct {
			name   string
			others func(s *fsstore.Store, id string) error // made meanwhile, for answers; nil: none
			// The step hangs while the clock moves on by half a ceiling at
			// a time, with a call of others at each reading up to until,
			// then on to end, where it is let go (release) or left
			// hanging for the store to give up on.
			until, end time.Duration
			release    bool
			want       string // "" for success, else in the error
		}{
			{"answered", loadOf, ceiling * 3 / 2, ceiling * 3 / 2, true, ""},
			{"held-up", loadOf, 3 * ceiling, 3 * ceiling, false, answered},
			{"answers-stop", loadOf, ceiling / 2, ceiling * 3 / 2, false, silent},
			{"silent", nil, 0, 3 * ceiling, false, silent},
			{"refused-calls", func(s *fsstore.Store, id string) error {
				err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: tooLarge})
				if errors.Is(err, fsstore.ErrTooLarge) {
					return nil
				}
				return fmt.Errorf("oversized save: %v, want ErrTooLarge", err)
			}, 3 * ceiling, 3 * ceiling, false, silent},
			// A lock granted is an answer too (not while the lock
			// attempts are what hangs).
			{"locks-granted", func(s *fsstore.Store, id string) error {
				l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
				if err != nil {
					return err
				}
				return l.Unlock()
			}, 3 * ceiling, 3 * ceiling, false, answered},
		} {
			if tc.name == "locks-granted" && op.site == "lock" {
				continue
			}
			t.Run(op.site+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				clk := fakeclock.New()
				f := newBoundFixture(t, fsstore.WithOpTimeout(ceiling), fsstore.WithBoundClockForTest(clk.Now))
				id, stepID := newID(t), newID(t)
				mustSave(t, f.s, id, "v1")
				release := f.fs.hang(op.site)
				defer release()
				errc := make(chan error, 1)
				go func() { errc <- op.do(f.s, stepID) }()
				f.fs.await(t, op.site)
				// The step's ceiling timer looks at the clock whenever it
				// fires, on the real clock; whatever reading it finds on
				// the way to end calls for the same verdict.
				for at := ceiling / 2; at <= tc.end; at += ceiling / 2 {
					clk.Advance(ceiling / 2)
					if tc.others != nil && at <= tc.until {
						if err := tc.others(f.s, id); err != nil {
							t.Fatalf("a call meanwhile, %v into the step: %v", at, err)
						}
					}
				}
				if tc.release {
					// The step is let go once its waiter has read the
					// clock at end and waited on. Of the looks counted
					// after n, the first may have read the clock before
					// its last move; the second read it at end.
					n := f.fs.count("wait-on")
					if !poll(func() bool { return f.fs.count("wait-on") >= n+2 || len(errc) > 0 }) {
						t.Fatal("the step's waiter never looked at the clock again")
					}
					release()
				}
				var err error
				select {
				case err = <-errc:
				case <-time.After(time.Minute): // bounds a hang only
					t.Fatalf("the step hung %v on the store's clock (ceiling %v) and is still waited for", tc.end, ceiling)
				}
				switch {
				case tc.want == "" && err != nil:
					t.Fatalf("step hung %v (ceiling %v) while other calls were answered: %v", tc.end, ceiling, err)
				case tc.want != "":
					isUnavailable(t, err, nil)
					if !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("err = %v, want it to say %q", err, tc.want)
					}
				}
				release()
				f.settle(t)
			})
		}
	}
}

func loadOf(s *fsstore.Store, id string) error {
	_, err := s.Load(context.Background(), id)
	return err
}

// TestBoundRangeCallback: a Range given up on while a system call hangs
// never calls its callback again, though the scan goes on in the
// background once the call returns.
func TestBoundRangeCallback(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithOpTimeout(time.Millisecond))
	plain := openPlain(t, f.dir)
	for i := range 8 {
		mustSave(t, plain, newID(t), strconv.Itoa(i))
	}
	var calls atomic.Int32
	hung := make(chan func(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := f.s.Range(ctx, func(*fsstore.Record) bool {
			if calls.Add(1) == 1 {
				hung <- f.fs.hang("root") // the next record's read hangs
			}
			return true
		})
		errc <- err
	}()
	release := <-hung
	defer release()
	f.fs.await(t, "root")
	cancel()
	isUnavailable(t, <-errc, context.Canceled)
	release()
	f.settle(t)
	if n := calls.Load(); n != 1 {
		t.Fatalf("callback called %d times, want once: the scan went on after Range returned and called it", n)
	}
}

// TestBoundRangeSlowCallback: time in Range's callback is the caller's,
// not the filesystem's: a callback still running well past the ceiling
// after the context ended neither makes Range give up nor counts toward
// the breaker, and a panic in the callback reaches Range's caller.
func TestBoundRangeSlowCallback(t *testing.T) {
	const ceiling = time.Second
	fixture := func(t *testing.T) *boundFixture {
		f := newBoundFixture(t, fsstore.WithOpTimeout(ceiling), fsstore.WithBreaker(1, time.Hour))
		plain := openPlain(t, f.dir)
		for i := range 4 {
			mustSave(t, plain, newID(t), strconv.Itoa(i))
		}
		return f
	}
	t.Run("slow", func(t *testing.T) {
		f := fixture(t)
		ctx, cancel := context.WithCancel(context.Background())
		inside, proceed := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		errc := make(chan error, 1)
		go func() {
			_, err := f.s.Range(ctx, func(*fsstore.Record) bool {
				if calls.Add(1) == 1 {
					close(inside)
					<-proceed
				}
				return true
			})
			errc <- err
		}()
		<-inside
		cancel()
		// Ceilings pass while the callback runs: the duration is what
		// is under test, not an event to wait for. A whole number of
		// them makes the callback return about when the waiter checks
		// again, which once left the reads after it no time at all.
		time.Sleep(2 * ceiling)
		close(proceed)
		err := <-errc
		if errors.Is(err, fsstore.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Range with a slow callback: %v, want the context's error only", err)
		}
		if got := f.s.Breaker(); got != fsstore.BreakerClosed {
			t.Fatalf("breaker %v after a slow callback, want closed", got)
		}
	})
	t.Run("panic", func(t *testing.T) {
		f := fixture(t)
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the callback's panic", p)
			}
		}()
		f.s.Range(context.Background(), func(*fsstore.Record) bool { panic("boom") })
		t.Fatal("Range returned after its callback panicked")
	})
}

// TestContentionLeavesBreakerClosed: lock waits that time out because
// another host holds the session are contention, not a file server that
// does not answer, even when the wait's deadline falls while one of its
// polls is on the wire (here every LOCK round trip takes 10 ms). They end
// with ErrLocked, and the breaker stays closed for the store's other
// sessions; counted as failures, three in a row opened it.
func TestContentionLeavesBreakerClosed(t *testing.T) {
	dir := t.TempDir()
	other, err := fsstore.Open(dir) // another host, holding the session
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	id := newID(t)
	held, err := other.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	attempts := make(chan struct{}, 1000)
	s, err := fsstore.Open(dir, fsstore.WithMaxInFlight(8), fsstore.WithBreaker(3, time.Hour),
		fsstore.WithTestFSForTest(func(site string) {
			if site == "lock" {
				time.Sleep(10 * time.Millisecond) // an answered LOCK round trip
				attempts <- struct{}{}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		// The wait ends once its first attempt was answered and a poll
		// has begun, as a deadline ends it on a healthy server: one
		// passing during the first attempt, which on a starved machine
		// a fixed one could, is no answer, and rightly counts.
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := s.Lock(ctx, id, fsstore.Exclusive); errc <- err }()
		<-attempts
		<-attempts
		cancel()
		err := <-errc
		// A wait whose context ends during an attempt returns at once
		// and leaves the attempt to its worker, which ends it and stops
		// (the attempt holds a slot until then). On a starved machine the
		// poll after the second attempt may have begun by then: its
		// attempt, counted only once it had ended, came as the next
		// wait's first, whose wait then ended during its real first
		// attempt, unanswered ("session store unavailable"). So the
		// attempts are counted once the slots are free.
		if !poll(func() bool { return s.InFlightForTest() <= 0 }) {
			t.Fatalf("wait %d: %d slots still taken", i, s.InFlightForTest())
		}
		for len(attempts) > 0 {
			<-attempts
		}
		if !errors.Is(err, fsstore.ErrLocked) || errors.Is(err, fsstore.ErrUnavailable) {
			t.Fatalf("wait %d for a session held elsewhere: %v, want ErrLocked", i, err)
		}
	}
	if got := s.Breaker(); got != fsstore.BreakerClosed {
		t.Errorf("breaker %v after lock waits that only met contention", got)
	}
	if _, err := s.Load(context.Background(), newID(t)); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("an unrelated Load: %v, want ErrNotFound", err)
	}
}

// TestGivenUpAsItCommits: a write whose caller's context ends while it is
// inside the filesystem, and which reaches its commit before the waiter
// takes its outcome away from it, skips its write (it was given up on)
// and finishes. Its caller must learn what any caller given up on before
// the commit learns, ErrUnavailable and the context's error: nothing was
// written. It got the internal "given up on by its caller; skipped",
// which matched neither, and which httpsession answered as a server error.
func TestGivenUpAsItCommits(t *testing.T) {
	for _, op := range []struct {
		name, site string // site: where it waits inside the filesystem
		do         func(ctx context.Context, s *fsstore.Store, id string) error
	}{
		{"save", "save", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v2")})
		}},
		{"delete", "delete", func(ctx context.Context, s *fsstore.Store, id string) error { return s.Delete(ctx, id) }},
		{"touch", "touch", func(ctx context.Context, s *fsstore.Store, id string) error { return s.Touch(ctx, id) }},
		// Its Locked is not broken: nothing it began is left under way.
		{"locked-save", "save", func(ctx context.Context, s *fsstore.Store, id string) error {
			l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			sess := &fsstore.Session{ID: id, Data: []byte("v2")}
			if err = l.Save(ctx, sess); errors.Is(err, fsstore.ErrUnavailable) {
				if uerr := l.Unlock(); uerr != nil {
					return fmt.Errorf("%w; and Unlock: %w", err, uerr)
				}
			}
			return err
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			f := newBoundFixture(t)
			id := newID(t)
			mustSave(t, f.s, id, "v1")
			releaseOp := f.fs.hang(op.site) // inside the filesystem, before the commit
			defer releaseOp()
			releaseWaiter := f.fs.hang("abandon")
			defer releaseWaiter()
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- op.do(ctx, f.s, id) }()
			f.fs.await(t, op.site)
			cancel()
			f.fs.await(t, "abandon") // the waiter has given up on it
			releaseOp()
			// The operation reaches its commit, skips it and finishes (it
			// gives back its slot right before it hands over its outcome).
			eventually(t, func() bool { return f.s.InFlightForTest() == 0 }, "the operation to finish")
			releaseWaiter()
			err := <-errc
			isUnavailable(t, err, context.Canceled)
			if errors.Is(err, fsstore.ErrInDoubt) {
				t.Errorf("err = %v: in doubt, for a write skipped before its commit", err)
			}
			mustLoad(t, openPlain(t, f.dir), id, "v1")
		})
	}
}

// On NFS a Touch that finds no record looks again, as the name can be
// missing for an instant while another host replaces it; given up on, it
// stops looking. Its "not found" then is no answer (it may have stopped in
// that instant), so the caller learns what one given up on a moment
// earlier learns: httpsession would take ErrNotFound for a session gone.
func TestTouchGivenUpWhileLooking(t *testing.T) {
	f := newBoundFixture(t)
	f.s.SetNFSForTest()
	id := newID(t)
	mustSave(t, f.s, id, "v1")
	releaseOp := f.fs.hang("touch")
	defer releaseOp()
	releaseWaiter := f.fs.hang("abandon")
	defer releaseWaiter()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.s.Touch(ctx, id) }()
	f.fs.await(t, "touch")
	cancel()
	f.fs.await(t, "abandon") // the waiter has given up on it
	// The name is missing when the touch looks, as in another host's
	// replacement of the record.
	if err := openPlain(t, f.dir).Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	releaseOp()
	eventually(t, func() bool { return f.s.InFlightForTest() == 0 }, "the touch to finish")
	releaseWaiter()
	err := <-errc
	if errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("err = %v: a Touch given up on while it looked for the name answered not found", err)
	}
	isUnavailable(t, err, context.Canceled)
}
