package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCloseEndsLockWaitWithErrClosed closes a store while a Lock, or a
// CompareAndSwap (which httpsession uses for new sessions, Renew and
// Optimistic mode), waits for a session's lock: the wait ends with an
// error matching ErrClosed, which callers (and httpsession, which answers
// 503 for it) know, not the lock table's own.
func TestCloseEndsLockWaitWithErrClosed(t *testing.T) {
	for _, cas := range []bool{false, true} {
		t.Run(map[bool]string{false: "Lock", true: "CompareAndSwap"}[cas], func(t *testing.T) { closeEndsLockWait(t, cas) })
	}
}

func closeEndsLockWait(t *testing.T, cas bool) {
	s, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	held, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		if cas {
			waited <- s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
			return
		}
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		if err == nil {
			l.Unlock()
		}
		waited <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for s.LockWaitersForTest() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second Lock never queued")
		}
		time.Sleep(time.Millisecond) // poll interval, not a wait for the event
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-waited:
		if !errors.Is(err, fsstore.ErrClosed) {
			t.Errorf("waiting at Close: %v, want an error matching fsstore.ErrClosed", err)
		}
	case <-time.After(time.Minute): // a hang detector only
		t.Fatal("Lock still waiting a minute after Close")
	}
	held.Unlock()
	<-closed
}
