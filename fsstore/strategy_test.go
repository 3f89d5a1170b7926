//go:build unix

package fsstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// Stores on one directory agree on a lock strategy: a store that does not
// force one (sessgc's, say) takes the one the running stores use, and one
// that forces the other is refused at Open, before it could save a session
// that another host holds locked.
func TestStoresAgreeOnLockStrategy(t *testing.T) {
	for _, first := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(first.String(), func(t *testing.T) {
			dir := t.TempDir()
			openDir(t, dir, fsstore.WithLockStrategy(first))
			if s := openDir(t, dir); s.LockStrategy() != first {
				t.Fatalf("a store with the default strategy beside a %s one uses %s", first, s.LockStrategy())
			}
			other := lock.Lease
			if first == lock.Lease {
				other = lock.Flock
			}
			s, err := fsstore.Open(dir, fsstore.WithLockStrategy(other))
			if err == nil {
				s.Close()
				t.Fatalf("a store forced to %s beside a %s one opened", other, first)
			}
			if !errors.Is(err, lock.ErrStrategyMismatch) {
				t.Fatalf("Open(%s) beside %s: %v, want lock.ErrStrategyMismatch", other, first, err)
			}
		})
	}
}

// TestAutoFirstRecordsItsOwnStrategy: on a store with no locks/.strategy
// (every process of a build up to 2026-12-03) and no lease held, the first
// process of this build that takes the automatic choice records its own,
// flock where flock works, even where the earlier processes were forced to
// leases; an upgraded process forced to leases is refused then. sessgc
// takes the automatic choice alone, so the operator guide's upgrade order
// has it upgraded after the hosts in that case ("Upgrade a fleet").
func TestAutoFirstRecordsItsOwnStrategy(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir, fsstore.WithLockStrategy(lock.Lease)).Close()
	// As an earlier build leaves it: nothing recorded.
	if err := os.Remove(filepath.Join(dir, fsstore.LockDir, lock.StrategyFile)); err != nil {
		t.Fatal(err)
	}
	if s := openDir(t, dir); s.LockStrategy() != lock.Flock {
		t.Fatalf("the first Auto process uses %s, want flock (what this test's file system allows)", s.LockStrategy())
	}
	s, err := fsstore.Open(dir, fsstore.WithLockStrategy(lock.Lease))
	if err == nil {
		s.Close()
		t.Fatal("a process forced to leases opened after an Auto process recorded flock")
	}
	if !errors.Is(err, lock.ErrStrategyMismatch) || !strings.Contains(err.Error(), "records flock, and this process asks for lease") {
		t.Fatalf("Open(lease) after an Auto process: %v, want lock.ErrStrategyMismatch quoting the record", err)
	}
}
