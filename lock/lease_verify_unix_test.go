//go:build unix

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

// TestLeaseVerifyJudgesAsUnlock: a lease's Verify and its Unlock judge
// the holder's own lease alike. Verify took a read of the lease file that
// failed (out of descriptors here; an I/O error or a soft mount's
// timeout on NFS) for a lock it could not check, also when the lease had
// run out by the holder's own clock, which needs no read to tell: the
// lock was lost (a breaker may have taken it), and Verify said "try
// again". And a file at the lease's name that holds no lease record (a
// holder's create, between its O_EXCL and its write, after the lease was
// removed) was a lock it could not check, where Unlock takes it for one
// taken over. A read that fails on a lease still running says nothing of
// it: that error is Verify's answer, and the next Verify reads again.
func TestLeaseVerifyJudgesAsUnlock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		expired bool // the holder's clock is past the lease's expiry
		noFDs   bool // the read fails: the process is out of descriptors
		empty   bool // the lease file was replaced by an empty one
		lost    bool
	}{
		{name: "expired, unread", expired: true, noFDs: true, lost: true},
		{name: "expired", expired: true, lost: true},
		{name: "no record", empty: true, lost: true},
		{name: "running, unread", noFDs: true, lost: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// A TTL the renewer, which would find the expiry on its
			// own, does not reach in the test.
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: time.Minute})
			var skew atomic.Int64
			lock.SetLeaseClock(tab, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
			h, err := tab.TryLock("f", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			if tc.expired {
				skew.Store(int64(2 * time.Minute))
			}
			if tc.empty {
				p := filepath.Join(dir, "f.lease")
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			restore := func() {}
			if tc.noFDs {
				restore = exhaustFDs(t)
			}
			err = h.Verify()
			restore()
			if got := errors.Is(err, lock.ErrLockLost); got != tc.lost || !tc.lost && err == nil {
				t.Fatalf("Verify: %v; want lost %v", err, tc.lost)
			}
			if !tc.lost {
				// Not lost: asked again, the server answers this time.
				if err := h.Verify(); err != nil {
					t.Fatalf("Verify again, the descriptors back: %v", err)
				}
			}
		})
	}
}
