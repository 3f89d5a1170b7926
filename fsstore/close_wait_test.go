package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCloseEndsLockWaitWithErrClosed closes a store while a Lock waits:
// the wait ends with an error matching ErrClosed, which callers (and
// httpsession, which answers 503 for it) know, not the lock table's own.
func TestCloseEndsLockWaitWithErrClosed(t *testing.T) {
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
			t.Errorf("Lock waiting at Close: %v, want an error matching fsstore.ErrClosed", err)
		}
	case <-time.After(time.Minute): // a hang detector only
		t.Fatal("Lock still waiting a minute after Close")
	}
	held.Unlock()
	<-closed
}
