package httpsession_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// saveGate holds the first successful save it is told of, once armed, on
// the saving goroutine: the record is written, and the save has not yet
// returned to its caller, which holds the session's lock and its mutex.
type saveGate struct {
	armed   atomic.Bool
	once    sync.Once
	saving  chan struct{} // closed when the save is held
	release chan struct{} // closed by the test to let it return
}

func newSaveGate() *saveGate {
	return &saveGate{saving: make(chan struct{}), release: make(chan struct{})}
}

func (g *saveGate) Observe(e fsstore.Event) {
	if e.Op != fsstore.OpSave || e.Late || e.Outcome != fsstore.OutcomeOK || !g.armed.Load() {
		return
	}
	g.once.Do(func() {
		close(g.saving)
		<-g.release
	})
}

// TestDeadlineWaitsForSaveInFlight: a save that is under way when the
// request's deadline passes (Release's, the commit as the response starts,
// the commit after the handler) has written the record and not yet
// returned: the release at the deadline waits for it, so the session's
// lock stays held, and no other host loads the record, until the save has
// returned. Released in the middle of it, another host could load the
// record before the save's write and have its own save overwritten.
// The save is held once it has written (the store reports it to its
// Observer on the saving goroutine), and the lock is checked once the
// deadline's release is seen waiting for it.
func TestDeadlineWaitsForSaveInFlight(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, save := range []string{"Release", "response start", "after the handler"} {
			t.Run(strategy.String()+"/"+save, func(t *testing.T) {
				// The save must begin before the deadline: a deadline
				// that passed first (a loaded machine) shows nothing,
				// and the case is tried again with a later one.
				for d := 100 * time.Millisecond; ; d *= 4 {
					if testDeadlineWaitsForSaveInFlight(t, strategy, save, d) {
						return
					}
					if d > 10*time.Second {
						t.Fatalf("no save began before a deadline of %v", d)
					}
				}
			})
		}
	}
}

func testDeadlineWaitsForSaveInFlight(t *testing.T, strategy lock.Strategy, save string, deadline time.Duration) (shown bool) {
	dir := t.TempDir()
	gate := newSaveGate()
	open := func(opts ...fsstore.Option) *fsstore.Store {
		st, err := fsstore.Open(dir, append(opts, fsstore.WithLockStripes(1), fsstore.WithLockStrategy(strategy), fsstore.WithDurability(fsstore.DurabilityNone))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(fsstore.WithObserver(gate)), open()
	id := seedSessions(t, stB, 1)[0]

	stuck := make(chan struct{}) // the handler waits here after the save, as one stalled in a Write
	saved := make(chan error, 1) // the save's result, as the handler sees it
	late := make(chan error, 1)  // a Put after the save, the deadline passed
	m := httpsession.New(stA, httpsession.WithLockTimeout(waitHang))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if _, err := s.Get("n", new(int)); err != nil {
			saved <- err
			return
		}
		if err := s.Put("n", 2); err != nil {
			saved <- err
			return
		}
		gate.armed.Store(true)
		switch save {
		case "Release":
			saved <- s.Release()
		case "response start":
			_, err := w.Write([]byte("ok"))
			saved <- err
		case "after the handler":
			return
		}
		<-stuck
		late <- s.Put("n", 3)
	}))

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	req := httptest.NewRequest("POST", "https://app/", nil).WithContext(ctx)
	req.AddCookie(&http.Cookie{Name: "session", Value: id})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	defer func() {
		close(stuck)
		<-done
	}()
	select {
	case <-gate.saving:
	case err := <-saved:
		if ctx.Err() != nil {
			return false // the deadline passed before the save began
		}
		t.Fatalf("the %s save returned %v before it was held", save, err)
	case <-done:
		if ctx.Err() != nil {
			return false
		}
		t.Fatalf("the request ended (%d %s) before its save was held", rec.Code, rec.Body)
	}

	// The save has written the record; its caller holds the lock. The
	// deadline passes, and its release waits for the save: the other
	// host finds the lock held until the release is seen waiting, and
	// then still.
	<-ctx.Done()
	held := func() bool {
		lk, err := stB.TryLock(id, fsstore.Exclusive)
		if err == nil {
			lk.Unlock()
			close(gate.release)
			t.Fatalf("another host took the session's lock while the %s save was under way, past the deadline", save)
		}
		if !errors.Is(err, fsstore.ErrLocked) {
			close(gate.release)
			t.Fatal(err)
		}
		return true
	}
	for end := time.Now().Add(proctest.Deadline); held() && testenv.Parked("github.com/sessfs/sessfs/httpsession.(*Session).expire") == 0; {
		if time.Now().After(end) {
			close(gate.release)
			t.Fatal("the release at the deadline was never seen waiting for the save under way")
		}
		time.Sleep(time.Millisecond)
	}
	held()
	close(gate.release)
	if save != "after the handler" {
		if err := <-saved; err != nil {
			t.Fatalf("the %s save, held past the deadline after its write: %v", save, err)
		}
	}

	// Now released, while the handler still runs (but after the handler
	// returned): the other host takes the lock and reads the save.
	var lk *fsstore.Locked
	for end := time.Now().Add(proctest.Deadline); ; {
		var err error
		if lk, err = stB.TryLock(id, fsstore.Exclusive); err == nil {
			break
		}
		if !errors.Is(err, fsstore.ErrLocked) || time.Now().After(end) {
			t.Fatalf("the session's lock after the save returned, the deadline passed: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	got, err := lk.Load(t.Context())
	lk.Unlock()
	if err != nil || compact(got.Data) != `{"n":2}` {
		t.Fatalf("the record after the save: %v %s, want {\"n\":2}", err, got.Data)
	}
	switch save {
	case "Release":
		stuck <- struct{}{}
		if err := <-late; !errors.Is(err, httpsession.ErrReleased) {
			t.Errorf("Put after Release: %v, want ErrReleased", err)
		}
	case "response start":
		stuck <- struct{}{}
		if err := <-late; !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, httpsession.ErrReleased) {
			t.Errorf("Put after the deadline: %v, want context.DeadlineExceeded and ErrReleased", err)
		}
	}
	return true
}
