package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLeaseExpiredByWallClock: a holder counts its lease run out once
// either of its host's clocks says so. Other hosts judge the record by
// the wall clock it was written by; the monotonic clock stops while the
// host is suspended (a VM paused or live-migrated, a laptop asleep: Linux's
// CLOCK_MONOTONIC does not count suspend), and a wall clock that lagged is
// stepped forward. Timed by the monotonic clock alone, a holder resumed
// after its lease had run out for everybody else trusted it: its Verify
// passed with no read wherever no breaker had replaced it yet (a breaker
// between its check and its rename), its renewal renewed a lease a
// breaker had judged, and its Unlock removed a lease it no longer held.
// Both clocks here are fakes: nothing depends on time passing.
func TestLeaseExpiredByWallClock(t *testing.T) {
	const ttl = 5 * time.Minute // never renewed during the test
	for _, tc := range []struct {
		name string
		step func(h *lock.Handle) error
	}{
		{"Verify", func(h *lock.Handle) error { return h.Verify() }},
		{"Unlock", func(h *lock.Handle) error { return h.Unlock() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			base := time.Now().Round(0)
			var wall, monotonic atomic.Int64 // elapsed on each clock
			lock.SetLeaseClock(tab, func() time.Time { return base.Add(time.Duration(wall.Load())) })
			lock.SetLeaseMonoClock(tab, func() time.Duration { return time.Duration(monotonic.Load()) })
			h, err := tab.TryLock("k", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			// Suspended for an hour: the wall clock moved on, the
			// monotonic one a second.
			wall.Store(int64(time.Hour))
			monotonic.Store(int64(time.Second))
			if err := tc.step(h); !errors.Is(err, lock.ErrLockLost) {
				t.Errorf("%s an hour past the lease's expiry by the wall clock, a second by the monotonic one: %v, want ErrLockLost", tc.name, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "k.lease")); err != nil {
				t.Errorf("lease file after %s: %v; want it left to breakers, which may be replacing it", tc.name, err)
			}
		})
	}
}
