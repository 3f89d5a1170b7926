package scsstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
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
// The Commit is stopped there by its own Load's event, not by timing, and
// goes on once the Delete is seen waiting.
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
	// The Delete waits for the lock (seen parked in the wait:
	// testenv.Parked), and lands after the Commit once the Commit goes
	// on. No deadline ends its wait: a short one passed, on a loaded
	// machine, before its first attempt at the lock and showed nothing
	// either way, and the Delete keeps only its caller's deadline (a log
	// out outlives a client that hangs up), not an end the test decides.
	waits := testenv.ParkedAnew("github.com/sessfs/sessfs/lock.(*Table).acquire")
	deleted := make(chan error, 1)
	go func() { deleted <- s.Delete(tok) }()
	for giveUp := time.Now().Add(time.Minute); !waits(); {
		select {
		case err := <-deleted:
			if err == nil {
				t.Fatal("a Delete completed between the Commit's look for a tombstone and its write")
			}
			t.Fatalf("the Delete during the Commit returned (%v) without waiting for the lock", err)
		default:
		}
		if time.Now().After(giveUp) {
			t.Fatal("the Delete during the Commit is not waiting for the lock a minute after it began")
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}

	released = true
	close(p.release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatalf("the Delete that waited for the Commit: %v", err)
	}
	// The log out, after the Commit, wins, and a later commit of the page
	// view's session writes nothing.
	if _, found := mustFind(t, s, tok); found {
		t.Fatal("the Delete that waited for the Commit left the session")
	}
	if err := s.Commit(tok, []byte("page view"), expiry); err != nil {
		t.Fatal(err)
	}
	if _, found := mustFind(t, s, tok); found {
		t.Fatal("a Commit after the Delete saved the session again")
	}
}
