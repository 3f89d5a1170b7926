//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestFileLockVerify: a FileLock whose file was removed, or renamed over,
// while it was held no longer excludes anybody (another process that
// locks the path locks another file, and gets it), and Verify says so
// with ErrLockLost; an untouched one verifies, and one unlocked is lost.
// sessgc's fleet lock on a flock store had no such check: its pass went
// on unaware beside another host's.
func TestFileLockVerify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
		lost   bool
	}{
		{name: "untouched", change: func(*testing.T, string) {}},
		{name: "removed", lost: true, change: func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "renamed-over", lost: true, change: func(t *testing.T, path string) {
			other := path + ".new"
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".fleet")
			l, err := lock.TryLockFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			tc.change(t, path)
			err = l.Verify()
			if got := errors.Is(err, lock.ErrLockLost); got != tc.lost || !tc.lost && err != nil {
				t.Fatalf("Verify: %v; want lost %v", err, tc.lost)
			}
			if err := l.Verify(); errors.Is(err, lock.ErrLockLost) != tc.lost {
				t.Fatalf("Verify again: %v; want lost %v, for good", err, tc.lost)
			}
			// What the loss means: another taker gets the path's lock.
			other, err := lock.TryLockFile(path)
			if tc.lost != (err == nil) {
				t.Fatalf("TryLockFile of the path beside the held lock: %v; want it taken: %v", err, tc.lost)
			}
			if err == nil {
				other.Unlock()
			}
			l.Unlock()
			if err := l.Verify(); !errors.Is(err, lock.ErrLockLost) {
				t.Fatalf("Verify after Unlock: %v; want ErrLockLost", err)
			}
		})
	}
}
