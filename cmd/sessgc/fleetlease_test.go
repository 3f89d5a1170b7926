//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestFleetLockFollowsLeaseStrategy: the fleet locks (.sessgc,
// .sessgc-rekey) were flocks whatever the store's strategy, and a store
// runs with leases where flock excludes only one host's processes (NFS
// mounted with local_lock=flock or local_lock=all, some FUSE and SMB
// mounts): there a collector or rekey on every host ran at once. On a
// store with the lease strategy the fleet lock is a lease as well. This
// process holds the lease as another host's sessgc would (its flock, which
// does not reach that host, left free): sessgc skips the pass; once the
// lease is released it runs and leaves no lease behind.
func TestFleetLockFollowsLeaseStrategy(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1), fsstore.WithLockStrategy(lock.Lease))
	if got := st.s.LockStrategy(); got != lock.Lease {
		t.Fatalf("store strategy %v, want lease", got)
	}
	st.save(3)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	for _, tc := range []struct {
		name, lease string
		args        []string
		json        func(t *testing.T, r result) (skipped bool, reason string, scanned int64)
	}{
		{"sweep", "sessgc", []string{"--dir", st.dir, "--json"}, func(t *testing.T, r result) (bool, string, int64) {
			_, s := summary(t, r)
			return s.Skipped, s.SkipReason, s.Scanned
		}},
		{"rekey", "sessgc-rekey", []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"}, func(t *testing.T, r result) (bool, string, int64) {
			s := rekeyJSON(t, r)
			return s.Skipped, s.SkipReason, s.Scanned
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := st.s.TryLockFleet(tc.lease)
			if err != nil {
				t.Fatal(err)
			}
			r := runGC(t, tc.args)
			if skipped, reason, scanned := tc.json(t, r); r.code != 0 || !skipped || reason != "fleet-lock-held" || scanned != 0 {
				t.Errorf("while another host holds the fleet lease: exit %d, skipped %v (%q), scanned %d; stderr %q", r.code, skipped, reason, scanned, r.stderr)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			r = runGC(t, tc.args)
			if skipped, _, scanned := tc.json(t, r); r.code != 0 || skipped || scanned < 3 {
				t.Errorf("after the lease is released: exit %d, skipped %v, scanned %d; stderr %q", r.code, skipped, scanned, r.stderr)
			}
			if _, err := os.Lstat(filepath.Join(st.dir, fsstore.LockDir, tc.lease+".lease")); !os.IsNotExist(err) {
				t.Errorf("lease file after the pass: %v, want none", err)
			}
		})
	}
}
