package fsstore_test

import (
	"cmp"
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
	for _, waiter := range []string{"Lock", "CompareAndSwap", "Rekey"} {
		t.Run(waiter, func(t *testing.T) { closeEndsLockWait(t, waiter) })
	}
}

func closeEndsLockWait(t *testing.T, waiter string) {
	ctx := context.Background()
	dir := t.TempDir()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	// A record under an older key, for Rekey to wait on.
	old, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	held, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		switch waiter {
		case "CompareAndSwap":
			waited <- s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("y")})
			return
		case "Rekey":
			var recErr error
			_, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { recErr = err }})
			waited <- cmp.Or(recErr, err)
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
			t.Errorf("%s waiting at Close: %v, want an error matching fsstore.ErrClosed", waiter, err)
		}
	case <-time.After(time.Minute): // a hang detector only
		t.Fatalf("%s still waiting a minute after Close", waiter)
	}
	held.Unlock()
	<-closed
}
