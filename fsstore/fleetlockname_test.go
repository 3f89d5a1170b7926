package fsstore_test

import (
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestFleetLockNameRefused: TryLockFleet refuses with ErrFleetLockName a
// name of the store's own locks and one the lock package refuses (a path,
// a ".lease" infix), which matched lock.ErrInvalidName alone.
func TestFleetLockNameRefused(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(strategy))
			for _, name := range []string{"", "0001", "marker", "sweep", "rekey", ".hidden", ".strategy", "a/b", "../up", "x.lease", "job.lease.broken-1", ".", ".."} {
				h, err := s.TryLockFleet(name)
				if err == nil {
					h.Unlock()
				}
				if !errors.Is(err, fsstore.ErrFleetLockName) {
					t.Errorf("TryLockFleet(%q): %v, want ErrFleetLockName", name, err)
				}
				if lockRefuses := name == "a/b" || name == "x.lease" || name == "job.lease.broken-1"; lockRefuses && !errors.Is(err, lock.ErrInvalidName) {
					t.Errorf("TryLockFleet(%q): %v, want it to match lock.ErrInvalidName too", name, err)
				}
			}
		})
	}
}
