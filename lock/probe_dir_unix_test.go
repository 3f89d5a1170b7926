//go:build unix

package lock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestStrategyProbesUseTheDirectoryOpened: NewTable's probe of the
// strategy (a lease file made and removed, a flock taken) goes through
// the descriptor of the lock directory NewTable opened, as every lock
// after it: each probe opened the directory again by its path, an OPEN
// and a walk of the path on NFS per store opened. Here the path no longer
// leads to the directory once it is open, and the probes still work.
func TestStrategyProbesUseTheDirectoryOpened(t *testing.T) {
	for _, s := range []lock.Strategy{lock.Lease, lock.Flock} {
		t.Run(s.String(), func(t *testing.T) {
			root := t.TempDir()
			dir, moved := filepath.Join(root, "locks"), filepath.Join(root, "moved")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			got, err := lock.AgreeStrategyMoved(lock.Config{Dir: dir, Strategy: s}, moved)
			if err != nil || got != s {
				t.Fatalf("strategy agreed in a directory moved once opened: %v, %v; want %v, probed through its descriptor", got, err, s)
			}
			if _, err := os.Stat(filepath.Join(moved, lock.StrategyFile)); err != nil {
				t.Errorf("the strategy recorded in the directory opened: %v", err)
			}
		})
	}
}
