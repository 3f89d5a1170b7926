package fsstore_test

import (
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestNewIDSharingStripe: the IDs drawn for a held lock are valid, distinct
// and on its stripe as SharesStripe (and so Lock) computes it, whatever the
// number of stripes.
func TestNewIDSharingStripe(t *testing.T) {
	for _, stripes := range []int{1, 2, 7, 1024} {
		st, err := fsstore.Open(t.TempDir(), fsstore.WithLockStripes(stripes), fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		held, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		lk, err := st.Lock(t.Context(), held, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{held: true}
		for range 20 {
			id, err := lk.NewIDSharingStripe()
			if err != nil {
				t.Fatalf("%d stripes: %v", stripes, err)
			}
			if err := fsstore.ValidID(id); err != nil || seen[id] || !lk.SharesStripe(id) {
				t.Fatalf("%d stripes: drew %q (valid: %v, seen before: %v, shares the stripe: %v)", stripes, id, err, seen[id], lk.SharesStripe(id))
			}
			seen[id] = true
		}
		if lk.SharesStripe("bad/id") {
			t.Errorf("%d stripes: an invalid ID shares the stripe", stripes)
		}
		lk.Unlock()
		st.Close()
	}
}
