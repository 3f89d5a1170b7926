//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestFileLockVerifyBesideUnlock: sessgc's fleet watch verifies its flock
// on a goroutine of its own while the pass unlocks it. Verify answers
// nil or ErrLockLost (after the Unlock) and nothing else, the Unlock
// releases the lock whatever Verify was doing (the path is free to lock
// at once), and off NFS Verify writes nothing: the lock file keeps its
// size and mtime, which another host's look at the lock directory sees.
func TestFileLockVerifyBesideUnlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".sessgc")
	for range 20 {
		l, err := lock.TryLockFile(path)
		if err != nil {
			t.Fatal(err)
		}
		before, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					if err := l.Verify(); err != nil && !errors.Is(err, lock.ErrLockLost) {
						errs <- err
						return
					}
				}
			}()
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Verify beside Unlock: %v; want nil or ErrLockLost", err)
		}
		if err := l.Verify(); !errors.Is(err, lock.ErrLockLost) {
			t.Fatalf("Verify after Unlock: %v; want ErrLockLost", err)
		}
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
			t.Fatalf("lock file after Verify: size %d, mtime %v; was %d, %v", after.Size(), after.ModTime(), before.Size(), before.ModTime())
		}
	}
	l, err := lock.TryLockFile(path)
	if err != nil {
		t.Fatalf("TryLockFile after the Unlocks: %v", err)
	}
	l.Unlock()
}
