package lock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestRelativePathsOutliveChdir: a relative path names what it named in the
// working directory of the call given it. A process that changes directory
// later (a daemon moving to /, a tool walking a tree) still holds that
// lock, and a check of it or a look at that directory must not turn to
// whatever the path names from the new working directory: Verify of a
// FileLock reported its lock lost (ErrLockLost, "the lock file was
// removed") and kept saying so, and a LeaseDir opened at its first call
// looked at another directory.
func TestRelativePathsOutliveChdir(t *testing.T) {
	for _, tc := range relativeHolders() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.flock && runtime.GOOS == "windows" {
				t.Skip("no flock strategy on Windows")
			}
			base, elsewhere := t.TempDir(), t.TempDir()
			locks := filepath.Join(base, "locks")
			if err := os.Mkdir(locks, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Chdir(base)
			check, release := tc.hold(t)
			defer release()
			t.Chdir(elsewhere)
			if err := check(); err != nil {
				t.Errorf("after a change of working directory: %v", err)
			}
			// And the lock is still the one on base's file: no file of
			// it was made where the process went.
			if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
				t.Errorf("the lock made %s in the new working directory", ents[0].Name())
			}
			if err := check(); err != nil && !errors.Is(err, lock.ErrLockLost) {
				t.Errorf("second check: %v", err)
			}
		})
	}
}

// relativeHolder takes a lock by a path relative to the working
// directory, which holds the directory locks, and returns a check that the
// lock still holds and a release. Both relative-path tests use these.
type relativeHolder struct {
	name  string
	hold  func(t *testing.T) (check func() error, release func())
	flock bool // uses flock, which Windows lacks
}

// relativeHolders are the package's ways to take a lock by a relative path.
func relativeHolders() []relativeHolder {
	return []relativeHolder{
		{"TryLockFile", func(t *testing.T) (func() error, func()) {
			l, err := lock.TryLockFile(filepath.Join("locks", "fleet.lock"))
			if err != nil {
				t.Fatal(err)
			}
			return l.Verify, func() { l.Unlock() }
		}, false},
		{"LockFile", func(t *testing.T) (func() error, func()) {
			l, err := lock.LockFile(context.Background(), filepath.Join("locks", "fleet.lock"))
			if err != nil {
				t.Fatal(err)
			}
			return l.Verify, func() { l.Unlock() }
		}, false},
		{"TryLockFileIn", func(t *testing.T) (func() error, func()) {
			l, err := lock.TryLockFileIn("locks", "fleet.lock", 0o600)
			if err != nil {
				t.Fatal(err)
			}
			return l.Verify, func() { l.Unlock() }
		}, false},
		{"NewLeaseDir", func(t *testing.T) (func() error, func()) {
			tab := relTable(t, lock.Config{Dir: "locks", Strategy: lock.Lease})
			h, err := tab.TryLock("a", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			ld := lock.NewLeaseDir("locks") // opened at its first call
			return func() error {
					if _, err := ld.Holder("a"); err != nil {
						return err
					}
					return h.Verify()
				}, func() {
					ld.Close()
					h.Unlock()
				}
		}, false},
		{"Table lease", func(t *testing.T) (func() error, func()) {
			tab := relTable(t, lock.Config{Dir: "locks", Strategy: lock.Lease})
			h, err := tab.TryLock("a", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			return h.Verify, func() { h.Unlock() }
		}, false},
		{"Table flock", func(t *testing.T) (func() error, func()) {
			tab := relTable(t, lock.Config{Dir: "locks", Strategy: lock.Flock, VerifyAfter: time.Nanosecond})
			h, err := tab.TryLock("a", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			return h.Verify, func() { h.Unlock() }
		}, true},
	}
}

// relTable is NewTable for the relative-path tests, on every system.
func relTable(t *testing.T, cfg lock.Config) *lock.Table {
	t.Helper()
	tab, err := lock.NewTable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}
