package lock_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestBreakExpiredRefusesBadPeriods: BreakExpiredLease and
// LeaseDir.BreakExpired judge a lease by the caller's ttl and grace. A
// negative grace broke a lease its holder was renewing (its expiry lay
// ahead by less than the grace was negative), and a second process then
// took the lock beside it; a ttl of 0 or less dated a claim of a breaker
// at work stale at once, and an unwritten lease expired at its creation.
// Such a period is refused with an error naming it, as Config refuses one;
// 0 selects the default, as in Config.
func TestBreakExpiredRefusesBadPeriods(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ttl, grace time.Duration
		want       string // in the error; "" for none
	}{
		{"negative grace", 15 * time.Second, -time.Hour, "grace -1h0m0s is negative"},
		{"negative ttl", -time.Second, 2 * time.Second, "ttl -1s is outside"},
		{"ttl too short", time.Nanosecond, 2 * time.Second, "ttl 1ns is outside"},
		{"ttl too long", time.Hour, 2 * time.Second, "ttl 1h0m0s is outside"},
		{"defaults", 0, 0, ""},
	} {
		for _, via := range []struct {
			name string
			brk  func(dir string) (bool, error)
		}{
			{"BreakExpiredLease", func(dir string) (bool, error) {
				return lock.BreakExpiredLease(dir, "a", tc.ttl, tc.grace)
			}},
			{"LeaseDir", func(dir string) (bool, error) {
				ld := lock.NewLeaseDir(dir)
				defer ld.Close()
				return ld.BreakExpired("a", tc.ttl, tc.grace)
			}},
		} {
			t.Run(tc.name+"/"+via.name, func(t *testing.T) {
				cfg := lock.Config{Dir: t.TempDir(), Strategy: lock.Lease, LeaseTTL: time.Minute}
				holder, err := lock.NewTable(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer holder.Close()
				h, err := holder.TryLock("a", "k", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Unlock()
				broke, err := via.brk(cfg.Dir)
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("err = %v, want none", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("err = %v, want one saying %q", err, tc.want)
				}
				if broke {
					t.Errorf("a live lease was reported broken")
				}
				if err := h.Verify(); err != nil {
					t.Errorf("the holder's Verify: %v", err)
				}
				other, err := lock.NewTable(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				if h2, err := other.TryLock("a", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
					t.Errorf("another table's TryLock beside the holder: %v, want ErrLocked", err)
					if err == nil {
						h2.Unlock()
					}
				}
			})
		}
	}
}
