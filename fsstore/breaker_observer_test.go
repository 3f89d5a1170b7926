package fsstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// changeRecorder records what a store reports to its BreakerObserver.
type changeRecorder struct {
	mu      sync.Mutex
	changes []string // "from→to"
}

func (r *changeRecorder) Observe(fsstore.Event) {}

func (r *changeRecorder) ObserveBreaker(from, to fsstore.BreakerState) {
	r.mu.Lock()
	r.changes = append(r.changes, fmt.Sprintf("%v→%v", from, to))
	r.mu.Unlock()
}

func (r *changeRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// TestBreakerObserverChanges: a metrics back end counts the stores whose
// breaker is open when several share one observer, and a state alone
// cannot be counted: BreakerOpen is both a breaker that opens and a probe
// that failed or was given up on. A BreakerObserver gets each change with
// the state it left, once, in order, Close's report of an open or probing
// breaker as closed included, so that a count kept from the changes ends
// where it began.
func TestBreakerObserverChanges(t *testing.T) {
	const cooldown = 7 * time.Second
	// probe lets the breaker's cool-down pass and waits for the probe to
	// hang, leaving its ceiling's timer unfired for the caller.
	probe := func(t *testing.T, f *boundFixture) (overdue afterReq, release func()) {
		release = f.fs.hang("probe")
		f.timers.next(t, cooldown).ch <- time.Now()
		f.fs.await(t, "probe")
		return f.timers.next(t, time.Hour), release
	}
	waitState := func(t *testing.T, f *boundFixture, want fsstore.BreakerState) {
		t.Helper()
		eventually(t, func() bool { return f.s.Breaker() == want }, "the breaker "+want.String())
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f *boundFixture) // the store is closed after it
		want []string
	}{
		{"never opened", func(t *testing.T, f *boundFixture) {}, nil},
		{"open at Close", openBreaker, []string{"closed→open", "open→closed"}},
		{"probing at Close", func(t *testing.T, f *boundFixture) {
			openBreaker(t, f)
			_, release := probe(t, f)
			t.Cleanup(release)
		}, []string{"closed→open", "open→probing", "probing→closed"}},
		{"probe answers, opens again", func(t *testing.T, f *boundFixture) {
			openBreaker(t, f)
			_, release := probe(t, f)
			release()
			waitState(t, f, fsstore.BreakerClosed)
			openBreaker(t, f)
		}, []string{"closed→open", "open→probing", "probing→closed", "closed→open", "open→closed"}},
		{"probe given up on, then answers", func(t *testing.T, f *boundFixture) {
			openBreaker(t, f)
			overdue, release := probe(t, f)
			overdue.ch <- time.Now()
			waitState(t, f, fsstore.BreakerOpen)
			release()
			waitState(t, f, fsstore.BreakerClosed)
		}, []string{"closed→open", "open→probing", "probing→open", "open→closed"}},
		{"probe fails", func(t *testing.T, f *boundFixture) {
			openBreaker(t, f)
			// Without the data directory and the marker the server
			// answers the probe with an error (see TestBreakerProbeFails).
			for _, name := range []string{"data", fsstore.MarkerFile} {
				p := filepath.Join(f.dir, name)
				if err := os.Rename(p, p+".away"); err != nil {
					t.Fatal(err)
				}
			}
			f.timers.next(t, cooldown).ch <- time.Now()
			f.timers.next(t, time.Hour) // the probe's ceiling, never fired
			f.timers.next(t, cooldown)  // the probe failed: another cool-down
		}, []string{"closed→open", "open→probing", "probing→open", "open→closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &changeRecorder{}
			f := newBoundFixture(t, fsstore.WithBreaker(1, cooldown), fsstore.WithObserver(rec))
			tc.run(t, f)
			f.s.Close()
			if changes := rec.got(); !slices.Equal(changes, tc.want) {
				t.Errorf("breaker changes %q, want %q", changes, tc.want)
			}
		})
	}
}

// ownBreaker embeds an observer that counts breaker changes, as a type
// embedding prom.Observer does, and overrides ObserveBreaker to see them
// itself before passing them on.
type ownBreaker struct {
	*changeRecorder
	own changeRecorder
}

func (o *ownBreaker) ObserveBreaker(from, to fsstore.BreakerState) {
	o.own.ObserveBreaker(from, to)
	o.changeRecorder.ObserveBreaker(from, to)
}

// TestBreakerObserverOverride: an observer that embeds another (a
// prom.Observer, say) and overrides ObserveBreaker gets every change
// through its override. With a second interface taking precedence, a
// store called the embedded type's method of that interface and the
// override saw nothing.
func TestBreakerObserverOverride(t *testing.T) {
	obs := &ownBreaker{changeRecorder: &changeRecorder{}}
	f := newBoundFixture(t, fsstore.WithBreaker(1, 7*time.Second), fsstore.WithObserver(obs))
	openBreaker(t, f)
	f.s.Close()
	want := []string{"closed→open", "open→closed"}
	if got := obs.own.got(); !slices.Equal(got, want) {
		t.Errorf("the override saw breaker changes %q, want %q", got, want)
	}
	if got := obs.changeRecorder.got(); !slices.Equal(got, want) {
		t.Errorf("the embedded observer saw breaker changes %q, want %q", got, want)
	}
}

// panickyObserver panics in ObserveBreaker once, while armed.
type panickyObserver struct {
	changeRecorder
	panics sync.Mutex // guards armed
	armed  bool
}

func (o *panickyObserver) ObserveBreaker(from, to fsstore.BreakerState) {
	o.panics.Lock()
	armed := o.armed
	o.armed = false
	o.panics.Unlock()
	if armed {
		panic("observer")
	}
	o.changeRecorder.ObserveBreaker(from, to)
}

// TestBreakerObserverPanic: a BreakerObserver that panics as the breaker
// opens has its panic raised in the caller of the operation that opened
// it, and the breaker still gets its prober: it closes once the server
// answers, rather than failing every operation for good.
func TestBreakerObserverPanic(t *testing.T) {
	const cooldown = 7 * time.Second
	obs := &panickyObserver{armed: true}
	f := newBoundFixture(t, fsstore.WithBreaker(1, cooldown), fsstore.WithObserver(obs))
	release := f.fs.hang("load")
	ctx := newDeadlineCtx()
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		f.s.Load(ctx, newID(t))
	}()
	f.fs.await(t, "load")
	ctx.expire()
	if p := <-got; p != "observer" {
		t.Fatalf("Load's caller recovered %v, want the observer's panic", p)
	}
	release()
	f.settle(t)
	if st := f.s.Breaker(); st != fsstore.BreakerOpen {
		t.Fatalf("breaker %v, want open", st)
	}
	f.timers.next(t, cooldown).ch <- time.Now() // its prober's cool-down
	eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerClosed }, "the breaker closed by its probe")
}

// TestBreakerObserverPanicOnProber: a BreakerObserver that panics at a
// change the breaker's prober makes, on the store's own goroutine, has no
// caller to take the panic: it is logged, with the change made, and the
// prober goes on; it ended the process, every request of the app server
// with it, for a report.
func TestBreakerObserverPanicOnProber(t *testing.T) {
	const cooldown = 7 * time.Second
	obs := &panickyObserver{}
	f := newBoundFixture(t, fsstore.WithBreaker(1, cooldown), fsstore.WithObserver(obs))
	openBreaker(t, f)
	obs.panics.Lock()
	obs.armed = true // for open→probing, on the prober
	obs.panics.Unlock()
	f.timers.next(t, cooldown).ch <- time.Now()
	eventually(t, func() bool { return f.s.Breaker() == fsstore.BreakerClosed }, "the breaker closed by its probe")
	if got, want := obs.got(), []string{"closed→open", "probing→closed"}; !slices.Equal(got, want) {
		t.Errorf("the observer saw breaker changes %q, want %q (the one that panicked not recorded)", got, want)
	}
	var line string
	for _, l := range strings.Split(f.log.String(), "\n") {
		if strings.Contains(l, "panicked") {
			line = l
		}
	}
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "panic=observer") || !strings.Contains(line, "to=probing") {
		t.Fatalf("the observer's panic on the prober: logged %q, want an error with the panic and the change\n%s", line, f.log.String())
	}
}
