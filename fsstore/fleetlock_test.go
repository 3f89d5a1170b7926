package fsstore_test

import (
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestTryLockFleet: a fleet lock excludes a second taker while held, is
// free again once unlocked, and a name of the store's own locks is
// refused rather than shared with the sessions' or the sweep's.
func TestTryLockFleet(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Lease, lock.Flock} {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			a, err := fsstore.Open(dir, fsstore.WithLockStrategy(strategy))
			must(t, err)
			defer a.Close()
			b, err := fsstore.Open(dir) // another process, as far as the locks go
			must(t, err)
			defer b.Close()
			h, err := a.TryLockFleet("sessgc")
			must(t, err)
			if _, err := b.TryLockFleet("sessgc"); !errors.Is(err, lock.ErrLocked) {
				t.Errorf("second taker while held: %v, want ErrLocked", err)
			}
			must(t, h.Unlock())
			h, err = b.TryLockFleet("sessgc")
			must(t, err)
			must(t, h.Unlock())
			for _, name := range []string{"", ".sessgc", "sweep", "marker", "rekey", "0001"} {
				if h, err := a.TryLockFleet(name); !errors.Is(err, fsstore.ErrFleetLockName) {
					if h != nil {
						h.Unlock()
					}
					t.Errorf("TryLockFleet(%q): %v, want ErrFleetLockName", name, err)
				}
			}
		})
	}
}
