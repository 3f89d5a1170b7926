//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestSweepKeepsClaimsOnLeasesInPlace: the sweep removes by age what lease
// breakers leave behind, but not a claim on a lease still in place: a
// breaker may be acting on that lease under a later claim, and with the
// old one gone a second breaker could win it, so that two hosts held the
// lock. Stats predicts the same. Once the lease is gone, the claim goes.
func TestSweepKeepsClaimsOnLeasesInPlace(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithLockStrategy(lock.Lease))
	id := newID(t)
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	locks := filepath.Join(s.Dir(), fsstore.LockDir)
	lease := filepath.Join(locks, s.StripeForTest(id)+".lease")
	b, err := os.ReadFile(lease)
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`token=([0-9a-f]{32})`).FindSubmatch(b)
	if token == nil {
		t.Fatalf("no token in lease %q", b)
	}
	old := time.Now().Add(-48 * time.Hour)
	claim := lease + ".claim-" + string(token[1]) + "-0"
	writeAged(t, claim, 0, old)
	writeAged(t, filepath.Join(locks, "0bad.lease.take-"+string(token[1])), 160, old)

	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.StaleLeases != 1 {
		t.Errorf("Stats: %d stale lease files, want 1 (the replacement left by a dead breaker)", st.StaleLeases)
	}
	sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Leases != 1 {
		t.Errorf("sweep removed %d lease files, want 1", sw.Leases)
	}
	if _, err := os.Stat(claim); err != nil {
		t.Fatalf("claim on a lease in place: %v, want it kept", err)
	}

	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(claim); !os.IsNotExist(err) {
		t.Errorf("claim on a lease that is gone: %v, want it removed", err)
	}
}
