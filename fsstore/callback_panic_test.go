package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// panicObserver panics in each call that when selects, and records the
// others. Its methods are named as the store's log names them.
type panicObserver struct {
	when func(call string, e fsstore.Event, from, to fsstore.BreakerState, readOnly bool) bool

	mu      sync.Mutex
	events  []fsstore.Event
	changes []string // the breaker's, "from→to", panicked or not
	panics  int
}

func (o *panicObserver) check(call string, e fsstore.Event, from, to fsstore.BreakerState, readOnly bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.when(call, e, from, to, readOnly) {
		o.panics++
		panic("observer " + call)
	}
	o.events = append(o.events, e)
}

func (o *panicObserver) Observe(e fsstore.Event) { o.check("Observe", e, 0, 0, false) }
func (o *panicObserver) ObserveBreaker(from, to fsstore.BreakerState) {
	o.mu.Lock()
	o.changes = append(o.changes, from.String()+"→"+to.String())
	o.mu.Unlock()
	o.check("ObserveBreaker", fsstore.Event{}, from, to, false)
}
func (o *panicObserver) ObserveReadOnlyFS(readOnly bool) {
	o.check("ObserveReadOnlyFS", fsstore.Event{}, 0, 0, readOnly)
}

func (o *panicObserver) panicked() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.panics
}

func (o *panicObserver) count(op fsstore.Op) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.events {
		if e.Op == op {
			n++
		}
	}
	return n
}

// panicHandler is a slog handler that panics on records whose message
// holds msg, and hands the others on.
type panicHandler struct {
	slog.Handler
	msg string
}

func (h panicHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		panic("log handler")
	}
	return h.Handler.Handle(ctx, r)
}

// TestCallbackPanicOnStoreGoroutine: the store calls its user's code (the
// Observer's methods, the logger's handler) on goroutines of its own too,
// with no caller above them to take a panic: a bounded store's worker
// reporting a write its caller gave up on, the breaker's prober, Health's
// probe, a sweep's workers, the keys file's watcher. A panic there ended
// the process, every request of the app server with it, for a metric. It
// must be logged as an error with its stack, and the store must go on:
// the work the callback reported done, its slots and locks given back,
// and the goroutine serving the next time.
func TestCallbackPanicOnStoreGoroutine(t *testing.T) {
	const cooldown = 7 * time.Second
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// when selects the observer's calls that panic; nil: none.
		when func(call string, e fsstore.Event, from, to fsstore.BreakerState, readOnly bool) bool
		// logPanic: the logger's handler panics on records holding it.
		logPanic string
		// breaker: a breaker opened by one timeout; keys: a keys file.
		breaker, keys bool
		// run makes the store call the callback on its goroutine, and
		// shows the store working after it.
		run func(t *testing.T, e *panicEnv)
		// logged: the callback named in the log line of its panic; ""
		// for the logger's own, which cannot log it.
		logged string
	}{
		{
			name: "Observe of a write finished after its caller gave up",
			when: func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
				return call == "Observe" && e.Late
			},
			run: func(t *testing.T, e *panicEnv) {
				f := e.f
				id := newID(t)
				sess := &fsstore.Session{ID: id, Data: []byte("late")}
				release := f.giveUp(t, "commit", func(ctx context.Context) error { return f.s.Save(ctx, sess) })
				release()
				f.waitLog(t, "applied after its caller was told", "the late save")
				f.settle(t) // its slot given back
				got, err := f.s.Load(ctx, id)
				if err != nil || string(got.Data) != "late" {
					t.Fatalf("Load after the late save: %v, %v", got, err)
				}
				mustSave(t, f.s, id, "next")
			},
			logged: "Observe",
		},
		{
			name: "ObserveBreaker on the breaker's prober",
			when: func(call string, _ fsstore.Event, from, _ fsstore.BreakerState, _ bool) bool {
				return call == "ObserveBreaker" && from != fsstore.BreakerClosed // the prober's changes
			},
			breaker: true,
			run: func(t *testing.T, e *panicEnv) {
				f := e.f
				openBreaker(t, f)
				f.timers.next(t, cooldown).ch <- time.Now()
				eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerClosed }, "the breaker closed by its probe")
				mustSave(t, f.s, newID(t), "after")
			},
			logged: "ObserveBreaker",
		},
		{
			name: "ObserveReadOnlyFS on Health's probe",
			when: func(call string, _ fsstore.Event, _, _ fsstore.BreakerState, readOnly bool) bool {
				return call == "ObserveReadOnlyFS" && !readOnly
			},
			run: func(t *testing.T, e *panicEnv) {
				f := e.f
				f.s.NoteReadOnlyForTest()
				// The probe's test write succeeds and ends the finding.
				if err := f.s.Health(ctx); err != nil {
					t.Fatalf("Health once its test write succeeded: %v", err)
				}
				if f.s.ReadOnlyFS() {
					t.Fatal("still read-only after Health's test write succeeded")
				}
				for range 2 { // the probe's goroutine came back: no probe left hanging
					if err := f.s.Health(ctx); err != nil {
						t.Fatalf("Health after: %v", err)
					}
				}
				mustSave(t, f.s, newID(t), "after")
			},
			logged: "ObserveReadOnlyFS",
		},
		{
			name: "Observe of a sweep's removal",
			when: func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
				return call == "Observe" && e.Op == fsstore.OpSweepRemove
			},
			run: func(t *testing.T, e *panicEnv) {
				f := e.f
				for range 3 {
					id := newID(t)
					mustSave(t, f.s, id, "expired")
					// An hour old: expired under the default idle timeout.
					old := time.Now().Add(-time.Hour)
					if err := os.Chtimes(f.s.RecordPathForTest(id), old, old); err != nil {
						t.Fatal(err)
					}
				}
				live := newID(t)
				mustSave(t, f.s, live, "live")
				st, err := f.s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, Concurrency: 2})
				if err != nil {
					t.Fatal(err)
				}
				if st.Sessions != 3 || st.Live != 1 {
					t.Fatalf("sweep removed %d sessions and kept %d, want 3 and 1: it stopped at the observer's panic", st.Sessions, st.Live)
				}
				if n := e.obs.panicked(); n != 3 {
					t.Fatalf("the observer panicked %d times, want once per removal", n)
				}
				f.settle(t)
				if _, err := f.s.Load(ctx, live); err != nil {
					t.Fatal(err)
				}
			},
			logged: "Observe",
		},
		{
			name: "Observe of a keys file reload",
			when: func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
				return call == "Observe" && e.Op == fsstore.OpKeysReload
			},
			keys: true,
			run:  reloadTwice,
			// Each reload's event panics: the watcher went on to the next.
			logged: "Observe",
		},
		{
			name:     "logger's handler on the keys file's watcher",
			logPanic: "keys file reloaded",
			keys:     true,
			run: func(t *testing.T, e *panicEnv) {
				reloadTwice(t, e)
				// Past the log line the reload went on to report itself.
				eventually(t, func() bool { return e.obs.count(fsstore.OpKeysReload) == 2 }, "both reloads reported")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			when := tc.when
			if when == nil {
				when = func(string, fsstore.Event, fsstore.BreakerState, fsstore.BreakerState, bool) bool { return false }
			}
			e := &panicEnv{obs: &panicObserver{when: when}}
			logs := &syncBuffer{}
			var h slog.Handler = slog.NewTextHandler(logs, nil)
			if tc.logPanic != "" {
				h = panicHandler{Handler: h, msg: tc.logPanic}
			}
			opts := []fsstore.Option{fsstore.WithObserver(e.obs), fsstore.WithLogger(slog.New(h))}
			if tc.breaker {
				opts = append(opts, fsstore.WithBreaker(1, cooldown))
			}
			if tc.keys {
				e.keysPath = filepath.Join(t.TempDir(), "keys")
				e.keys = []fsstore.Key{mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)}
				writeFile0600(t, e.keysPath, keysFileText(e.keys[0]))
				opts = append(opts, fsstore.WithKeysFile(e.keysPath))
			}
			f := newBoundFixture(t, opts...)
			f.log = logs
			logs.watch(f.s.InFlightForTest)
			e.f = f
			tc.run(t, e)
			if tc.logged == "" {
				return
			}
			var line string
			for _, l := range strings.Split(f.log.String(), "\n") {
				if strings.Contains(l, "panicked") {
					line = l
					break
				}
			}
			for _, want := range []string{"level=ERROR", "callback=" + tc.logged, `panic="observer ` + tc.logged + `"`, "goroutine ", "stack="} {
				if !strings.Contains(line, want) {
					t.Fatalf("the panic logged as %q, want it to hold %q\n%s", line, want, f.log.String())
				}
			}
		})
	}
}

// panicEnv is what a case of TestCallbackPanicOnStoreGoroutine works on.
type panicEnv struct {
	f        *boundFixture
	obs      *panicObserver
	keysPath string
	keys     []fsstore.Key // 1, 2 and 3; the keys file holds the first
}

// reloadTwice adds keys 2 and then 3 to the keys file, and waits for each
// to be in use: the watcher still serves after the first.
func reloadTwice(t *testing.T, e *panicEnv) {
	k1, k2, k3 := e.keys[0], e.keys[1], e.keys[2]
	for _, keys := range [][]fsstore.Key{{k2, k1}, {k3, k2, k1}} {
		renameOver(t, e.keysPath, keysFileText(keys...))
		if !poll(func() bool { newest, _ := e.f.s.KeysInUseForTest(); return newest == keys[0].ID }) {
			t.Fatalf("key %d not in use after the keys file gained it\n%s", keys[0].ID, e.f.log.String())
		}
	}
	mustSave(t, e.f.s, newID(t), "sealed with key 3")
}

// TestObserverPanicOnCallerLeavesStoreConsistent: an Observer's panic on
// the goroutine of the call it reports goes up to that call's caller, as
// Range's callback's does, but the store must be left as the call would
// have left it. A Lock or TryLock whose report of the lock panicked kept
// the lock, with no Locked to release it: the session's stripe held from
// every other process until this one ended. A Close whose report of the
// read-only finding's end panicked left the rest undone, and a second
// Close did nothing: the breaker's end never reported, its prober and the
// lock descriptors left running and open.
func TestObserverPanicOnCallerLeavesStoreConsistent(t *testing.T) {
	ctx := context.Background()
	lockOK := func(op fsstore.Op) func(string, fsstore.Event, fsstore.BreakerState, fsstore.BreakerState, bool) bool {
		return func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
			return call == "Observe" && e.Op == op && e.Outcome == fsstore.OutcomeOK
		}
	}
	for _, tc := range []struct {
		name string
		when func(call string, e fsstore.Event, from, to fsstore.BreakerState, readOnly bool) bool
		// do makes the call whose report panics, on the test's goroutine.
		do func(t *testing.T, f *boundFixture, id string)
		// check shows the store as the call would have left it.
		check func(t *testing.T, f *boundFixture, obs *panicObserver, id string)
		// boundedOnly: the case needs a breaker, which only a bounded
		// store has.
		boundedOnly bool
	}{
		{
			name: "Lock",
			when: lockOK(fsstore.OpLockWait),
			do: func(t *testing.T, f *boundFixture, id string) {
				f.s.Lock(ctx, id, fsstore.Exclusive)
			},
			check: lockFree,
		},
		{
			name: "TryLock",
			when: lockOK(fsstore.OpTryLock),
			do: func(t *testing.T, f *boundFixture, id string) {
				f.s.TryLock(id, fsstore.Exclusive)
			},
			check: lockFree,
		},
		{
			name: "Close",
			when: func(call string, _ fsstore.Event, _, _ fsstore.BreakerState, readOnly bool) bool {
				return call == "ObserveReadOnlyFS" && !readOnly
			},
			do: func(t *testing.T, f *boundFixture, id string) {
				openBreaker(t, f)
				f.s.NoteReadOnlyForTest()
				f.s.Close()
			},
			check: func(t *testing.T, f *boundFixture, obs *panicObserver, id string) {
				obs.mu.Lock()
				changes := strings.Join(obs.changes, " ")
				obs.mu.Unlock()
				if changes != "closed→open open→closed" {
					t.Errorf("breaker changes reported %q, want the open breaker's end reported by Close", changes)
				}
				if err := f.s.Save(ctx, &fsstore.Session{ID: id}); !errors.Is(err, fsstore.ErrClosed) {
					t.Errorf("Save after Close: %v, want ErrClosed", err)
				}
			},
			boundedOnly: true,
		},
	} {
		for _, bounded := range []bool{false, true} {
			if tc.boundedOnly && !bounded {
				continue
			}
			name := tc.name + "/local"
			if bounded {
				name = tc.name + "/bounded"
			}
			t.Run(name, func(t *testing.T) {
				obs := &panicObserver{when: tc.when}
				opts := []fsstore.Option{fsstore.WithObserver(obs), fsstore.WithBreaker(1, time.Hour)}
				if !bounded {
					opts = append(opts, fsstore.WithMaxInFlight(0))
				}
				f := newBoundFixture(t, opts...)
				id := newID(t)
				func() {
					defer func() {
						if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "observer ") {
							t.Fatalf("the caller recovered %v, want the observer's panic", p)
						}
					}()
					tc.do(t, f, id)
				}()
				tc.check(t, f, obs, id)
			})
		}
	}
}

// lockFree checks that another process could take id's lock.
func lockFree(t *testing.T, f *boundFixture, _ *panicObserver, id string) {
	l, err := openPlain(t, f.dir).TryLock(id, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("another store's TryLock after the panic: %v, want the lock free", err)
	}
	l.Unlock()
}

// TestObserverPanicAtBreakerOpenKeepsLockedBroken: a Locked.Save given up
// on whose timeout opens the breaker marks its Locked broken, the lock in
// doubt until the save returns, before the breaker's observer is told: a
// panic there, raised in Save's caller, left the Locked unmarked, and its
// Unlock told the caller the lock was released while the save given up
// on could still write under it.
func TestObserverPanicAtBreakerOpenKeepsLockedBroken(t *testing.T) {
	obs := &panicObserver{when: func(call string, _ fsstore.Event, from, _ fsstore.BreakerState, _ bool) bool {
		return call == "ObserveBreaker" && from == fsstore.BreakerClosed
	}}
	f := newBoundFixture(t, fsstore.WithObserver(obs), fsstore.WithBreaker(1, time.Hour))
	id := newID(t)
	l, err := f.s.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	release := f.fs.hang("save")
	defer release()
	ctx := newDeadlineCtx()
	go func() {
		<-f.fs.entered // the save hangs: its caller's deadline passes
		ctx.expire()
	}()
	func() {
		defer func() {
			if p := recover(); p != "observer ObserveBreaker" {
				t.Fatalf("Save's caller recovered %v, want the observer's panic", p)
			}
		}()
		l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("given up on")})
	}()
	if err := l.Unlock(); !errors.Is(err, fsstore.ErrUnavailable) {
		t.Fatalf("Unlock with the save given up on still running: %v, want ErrUnavailable (released once it returns)", err)
	}
	release()
	f.settle(t)
	waitReleased(t, openPlain(t, f.dir), id)
}
