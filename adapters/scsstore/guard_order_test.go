package scsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// pauseAt is an Observer that, once armed, stops the first operation
// reporting op until release is closed. The store reports an operation
// on its caller's goroutine once its work is done, so a guarded Commit
// stopped at its OpLoad has looked for a tombstone and not yet written.
type pauseAt struct {
	op      fsstore.Op
	armed   chan struct{} // closed: the next op pauses
	paused  chan struct{} // closed by the paused operation
	release chan struct{}
}

func newPauseAt(op fsstore.Op) *pauseAt {
	return &pauseAt{op: op, armed: make(chan struct{}), paused: make(chan struct{}), release: make(chan struct{})}
}

func (p *pauseAt) Observe(e fsstore.Event) {
	if e.Op != p.op {
		return
	}
	select {
	case <-p.armed:
	default:
		return
	}
	select {
	case <-p.paused: // paused once already
		return
	default:
	}
	close(p.paused)
	<-p.release
}

// TestDeleteCannotEnterCommit: while a guarded Commit is between its look
// for a tombstone and its write, it holds the session's lock, and a Delete
// waits for that lock rather than leave its tombstone to be overwritten: a
// Delete there would let the Commit save the logged-out session again.
// The Commit is stopped there by its own Load's event, not by timing; the
// Delete's wait is bounded only because it must not end.
func TestDeleteCannotEnterCommit(t *testing.T) {
	p := newPauseAt(fsstore.OpLoad)
	st, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(p), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := scsstore.New(st)
	tok := newToken(t)
	expiry := time.Now().Add(time.Hour)
	if err := s.Commit(tok, []byte("logged in"), expiry); err != nil {
		t.Fatal(err)
	}

	close(p.armed)
	committed := make(chan error, 1)
	go func() { committed <- s.Commit(tok, []byte("page view"), expiry) }()
	select {
	case <-p.paused:
	case err := <-committed:
		t.Fatalf("the Commit returned (%v) without a Load under the lock", err)
	}
	released := false
	defer func() {
		if !released {
			close(p.release)
		}
	}()

	l, err := st.TryLock(tok, fsstore.Exclusive)
	if err == nil {
		l.Unlock()
		t.Fatal("the session's lock was free between the Commit's look for a tombstone and its write")
	}
	if !errors.Is(err, fsstore.ErrLocked) {
		t.Fatal(err)
	}
	// A deadline that passed before the Delete's first attempt at the
	// lock (a loaded machine can delay it past a short one) ends it
	// without ErrLocked and shows nothing either way: try a longer one.
	for _, d := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second, 20 * time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		deleted := make(chan error, 1)
		go func() { deleted <- s.DeleteCtx(ctx, tok) }()
		select {
		case err = <-deleted:
		case <-time.After(d + 20*time.Second):
			// Only turns a hang into a failure: nothing is measured.
			// The deferred release lets the Commit, then the Delete,
			// end.
			cancel()
			t.Fatalf("the Delete during the Commit still waits 20s after its %v deadline: its wait for the lock does not end with its context", d)
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fsstore.ErrLocked) {
			break
		}
		t.Logf("the %v deadline passed before the Delete's first attempt at the lock (%v): trying a longer one", d, err)
	}
	if err == nil {
		t.Fatal("a Delete completed between the Commit's look for a tombstone and its write")
	}
	if !errors.Is(err, fsstore.ErrLocked) {
		t.Fatalf("the Delete during the Commit: %v; want it to wait for the lock (ErrLocked)", err)
	}

	released = true
	close(p.release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if b, found := mustFind(t, s, tok); !found || string(b) != "page view" {
		t.Fatalf("after the Commit: %q, %v; want its save", b, found)
	}
	// The log out after it wins, and a later commit of the page view's
	// session writes nothing.
	if err := s.Delete(tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(tok, []byte("page view"), expiry); err != nil {
		t.Fatal(err)
	}
	if _, found := mustFind(t, s, tok); found {
		t.Fatal("a Commit after the Delete saved the session again")
	}
}
