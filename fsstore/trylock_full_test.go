package fsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestTryLockFullBound: with the bound full, a TryLock needing the file
// server fails at once with the error Lock's first attempt gives, and one
// shared in the process takes no slot and succeeds.
func TestTryLockFullBound(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithMaxInFlight(1))
	_, held, release, errc := f.loadHung(t) // holds the one slot
	var other, shared string
	for other == "" || shared == "" {
		id := newID(t)
		if f.s.StripeForTest(id) == f.s.StripeForTest(held) {
			if shared == "" {
				shared = id
			}
		} else if other == "" {
			other = id
		}
	}
	_, tryErr := f.s.TryLock(other, fsstore.Exclusive)
	_, lockErr := f.s.Lock(context.Background(), other, fsstore.Exclusive)
	if !errors.Is(tryErr, fsstore.ErrUnavailable) || lockErr == nil || tryErr.Error() != lockErr.Error() {
		t.Fatalf("TryLock with the bound full = %v; Lock = %v: want the same ErrUnavailable", tryErr, lockErr)
	}
	l, err := f.s.TryLock(shared, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("TryLock of a stripe held in the process with the bound full = %v, want the lock", err)
	}
	if n := f.s.InFlightForTest(); n != 1 {
		t.Fatalf("%d slots taken, want 1 (the hung load's)", n)
	}
	l.Unlock()
	release()
	<-errc
	f.settle(t)
}
