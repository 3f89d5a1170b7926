//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLockDirReplacedAtEveryAttempt: a take whose every attempt is
// granted in a lock directory found replaced meanwhile (moved away and
// made anew between each attempt's open and its flock, and found so by
// another take of the table) fails, with ErrLockLost. Its last attempt's
// lock, already released for the directory replaced, was returned as
// granted: the holder went on with no OS lock, beside the process that
// opened the directory now at the path and took the same lock there.
func TestLockDirReplacedAtEveryAttempt(t *testing.T) {
	dir := newLockDir(t)
	var a *lock.Table
	swaps := 0
	a, err := lock.NewTableRefusingFlock(lock.Config{Dir: dir, Strategy: lock.Flock, VerifyAfter: time.Nanosecond}, func(name string) error {
		if name != "s1" {
			return nil
		}
		swaps++
		if err := os.Rename(dir, fmt.Sprintf("%s.old%d", dir, swaps)); err != nil {
			t.Error(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Error(err)
		}
		// Another take of the table looks at the path and reopens it.
		if h, err := a.TryLock("other", "k", lock.Exclusive); err != nil {
			t.Error(err)
		} else {
			h.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ha, err := a.TryLock("s1", "k", lock.Exclusive)
	if err == nil {
		defer ha.Unlock()
		b := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
		if hb, err := b.TryLock("s1", "k", lock.Exclusive); err == nil {
			hb.Unlock()
			t.Fatalf("both processes hold s1, after %d swaps of the lock directory while one took it", swaps)
		}
		return
	}
	if !errors.Is(err, lock.ErrLockLost) {
		t.Errorf("a take granted only in replaced lock directories: %v, want ErrLockLost", err)
	}
}
