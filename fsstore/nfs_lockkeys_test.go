//go:build unix

package fsstore_test

import (
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// nfsTwoIDsOneStripe: on a one-stripe store, hostA locks two sessions and
// compare-and-swaps a third from one goroutine (they all share the stripe)
// without waiting for itself; hostB is kept out of the stripe until hostA
// has unlocked both, then sees the swapped record.
func nfsTwoIDsOneStripeA(t *testing.T) {
	s := openNFSStore(t, fsstore.WithLockStripes(1))
	a, b, c := lockKeysID("a", 1), lockKeysID("b", 2), lockKeysID("c", 3)
	la, err := s.Lock(nfsCtx(t, nfsWait), a, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := s.Lock(nfsCtx(t, nfsWait), b, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("second session on the stripe, same goroutine: %v", err)
	}
	if err := s.CompareAndSwap(nfsCtx(t, nfsWait), &fsstore.Session{ID: c, Data: []byte("from A")}); err != nil {
		t.Fatalf("CompareAndSwap of a third session on the held stripe: %v", err)
	}
	nfsSignal(t, "held")
	nfsWaitSig(t, "tried", nfsWait)
	if err := la.Unlock(); err != nil {
		t.Error(err)
	}
	nfsSignal(t, "one-released")
	nfsWaitSig(t, "tried-again", nfsWait)
	if err := lb.Unlock(); err != nil {
		t.Error(err)
	}
	nfsSignal(t, "released")
	nfsWaitSig(t, "done", nfsWait)
}

func nfsTwoIDsOneStripeB(t *testing.T) {
	s := openNFSStore(t, fsstore.WithLockStripes(1))
	a, c, d := lockKeysID("a", 1), lockKeysID("c", 3), lockKeysID("d", 4)
	nfsWaitSig(t, "held", nfsWait)
	locked := func(when string) {
		for _, id := range []string{a, d} {
			if l, err := s.TryLock(id, fsstore.Shared); !errors.Is(err, fsstore.ErrLocked) {
				if l != nil {
					l.Unlock()
				}
				t.Errorf("TryLock %s: %v, want ErrLocked", when, err)
			}
		}
	}
	locked("while hostA holds two sessions on the stripe")
	nfsSignal(t, "tried")
	nfsWaitSig(t, "one-released", nfsWait)
	locked("while hostA still holds one session on the stripe")
	nfsSignal(t, "tried-again")
	nfsWaitSig(t, "released", nfsWait)
	l, err := s.Lock(nfsCtx(t, nfsWait), d, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("Lock after hostA released the stripe: %v", err)
	}
	l.Unlock()
	sess, err := s.Load(nfsCtx(t, nfsWait), c)
	if err != nil || string(sess.Data) != "from A" {
		t.Errorf("Load of hostA's swapped session: %v, %+v", err, sess)
	}
	nfsSignal(t, "done")
}
