package lock_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLeaseClockSkewBound checks the documented bound on clock skew
// between hosts under the lease strategy: a breaker whose clock runs ahead
// of a holder's by less than LeaseGrace never takes a lease whose holder
// still counts it valid by its own clock, however long the holder stalls.
// At the first instant the breaker may break the lease, the holder's
// Verify already reports it lost (by its clock alone: the file still holds
// its token), and one instant earlier the breaker is kept out. Beyond the
// bound the guarantee is gone: the last case shows the holder trusting its
// lease while the breaker takes it (the window in which only the fenced
// write of fsstore keeps the holder's late work out).
//
// Both hosts' clocks are fakes offset from one shared reading, so nothing
// here depends on time passing. The lease is long (its renewal never runs
// during the test): the holder is as good as stopped.
func TestLeaseClockSkewBound(t *testing.T) {
	const (
		ttl   = 5 * time.Minute
		grace = 2 * time.Second
	)
	for _, tc := range []struct {
		name string
		skew time.Duration // the breaker's clock minus the holder's
		// overlap: beyond the bound, the holder still trusts its lease
		// when the breaker may take it.
		overlap bool
	}{
		{"same clock", 0, false},
		{"breaker behind", -30 * time.Second, false},
		{"breaker ahead by half the grace", grace / 2, false},
		{"breaker ahead by just under the grace", grace - time.Millisecond, false},
		{"breaker ahead by more than the grace", grace + time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			base := time.Now()
			var elapsed atomic.Int64 // since base, on both clocks
			cfg := lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: ttl, LeaseGrace: grace}
			holder := skewTable(t, cfg)
			lock.SetLeaseClock(holder, func() time.Time { return base.Add(time.Duration(elapsed.Load())) })
			breaker := skewTable(t, cfg)
			lock.SetLeaseClock(breaker, func() time.Time { return base.Add(tc.skew + time.Duration(elapsed.Load())) })

			h, err := holder.TryLock("k", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			// The holder's record expires at base+ttl by its clock; the
			// breaker may break it from base+ttl+grace by its own, which
			// reads base+ttl+grace-skew on the holder's.
			breakable := ttl + grace - tc.skew

			elapsed.Store(int64(breakable - time.Millisecond))
			if b, err := breaker.TryLock("k", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
				if b != nil {
					b.Unlock()
				}
				t.Fatalf("breaker's TryLock a millisecond before the lease is breakable by its clock: %v, want ErrLocked", err)
			}

			elapsed.Store(int64(breakable))
			verr := h.Verify()
			b, err := breaker.TryLock("k", "k", lock.Exclusive)
			if err != nil {
				t.Fatalf("breaker's TryLock once the lease expired by grace on its clock: %v", err)
			}
			defer b.Unlock()
			switch {
			case !tc.overlap && !errors.Is(verr, lock.ErrLockLost):
				t.Errorf("holder's Verify when the breaker may take its lease: %v, want ErrLockLost (the holder trusted a lease another host could take)", verr)
			case tc.overlap && verr != nil:
				t.Errorf("holder's Verify with the breaker's clock %v ahead, past the grace: %v; want the lease still trusted, as the bound predicts", tc.skew, verr)
			}
			if err := h.Verify(); !errors.Is(err, lock.ErrLockLost) {
				t.Errorf("holder's Verify after the breaker took its lease: %v, want ErrLockLost", err)
			}
		})
	}
}

// skewTable opens a table for TestLeaseClockSkewBound, closed at the
// test's end.
func skewTable(t *testing.T, cfg lock.Config) *lock.Table {
	t.Helper()
	tab, err := lock.NewTable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}
