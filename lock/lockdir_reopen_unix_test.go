//go:build unix

package lock_test

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLockDirMismatchReopenBounded: a lock directory removed and made anew
// by processes of the other strategy, which the table cannot join. Its
// takes fail with ErrStrategyMismatch; it probes the directory at most
// once per VerifyAfter, the takes in between failing with that probe's
// error at once. Every take probed it afresh (an open, a read of its
// strategy file, a probe file created and removed; on NFS round trips
// and a write each) for a failure that lasts until the process
// restarts. A path that names nothing is still tried at each take
// (TestLockDirRemovedRetakenAtOnce): that costs the open a take makes
// anyway, and a directory made there is used at once.
func TestLockDirMismatchReopenBounded(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strat.String(), func(t *testing.T) {
			other := lock.Lease
			if strat == lock.Lease {
				other = lock.Flock
			}
			dir := newLockDir(t)
			a := newTable(t, lock.Config{Dir: dir, Strategy: strat, VerifyAfter: time.Hour})
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			newTable(t, lock.Config{Dir: dir, Strategy: other})
			const takes = 20
			for i := range takes {
				h, err := a.TryLock("s1", "k", lock.Exclusive)
				if err == nil {
					h.Unlock()
					t.Fatalf("take %d in a directory of the other strategy: granted", i)
				}
				if !errors.Is(err, lock.ErrStrategyMismatch) {
					t.Fatalf("take %d in a directory of the other strategy: %v, want ErrStrategyMismatch", i, err)
				}
			}
			if n := a.ReopenTriesForTest(); n != 1 {
				t.Errorf("%d takes in a directory of the other strategy probed it %d times, want 1 within VerifyAfter", takes, n)
			}
		})
	}
}

// TestLockDirReplacedStatsOpen: after its lock directory was replaced, a
// Flock table's Stats().Open counts the descriptors of the locks still
// held in the old one, which stay open until their holders unlock, beside
// those in the new one; once they are unlocked it counts the new one's
// alone. It counted the new one's alone from the reopen on.
func TestLockDirReplacedStatsOpen(t *testing.T) {
	dir := newLockDir(t)
	a := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock, VerifyAfter: time.Nanosecond})
	held, err := a.TryLock("s1", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h2, err := a.TryLock("s2", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Unlock()
	if err := held.Verify(); !errors.Is(err, lock.ErrLockLost) {
		t.Fatalf("Verify of the lock in the old directory: %v, want ErrLockLost", err)
	}
	if open := a.Stats().Open; open != 2 {
		t.Errorf("Stats().Open with one lock held in the old directory and one in the new: %d, want 2", open)
	}
	held.Unlock()
	if open := a.Stats().Open; open != 1 {
		t.Errorf("Stats().Open once the old directory's lock is unlocked: %d, want 1", open)
	}
}

// TestLockDirReopenTransientFailureRetried: a reopen of a lock directory
// removed and made anew whose probe fails for a moment (out of
// descriptors, an interrupted or refused call, a stale NFS handle, an
// I/O error) is tried again at the next take, which then locks in the
// new directory. Such a failure says nothing lasting of the directory:
// the reopen kept it, as it keeps a strategy mismatch, and every take
// failed with it for VerifyAfter (an hour here) without trying again.
func TestLockDirReopenTransientFailureRetried(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EINTR, syscall.EAGAIN, syscall.ESTALE, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			a, fail := replacedDirFailingProbe(t, errno)
			fail.Store(true)
			if h, err := a.TryLock("s1", "k", lock.Exclusive); err == nil {
				h.Unlock()
				t.Fatal("take whose reopen's probe failed: granted")
			} else if !errors.Is(err, errno) {
				t.Fatalf("take whose reopen's probe failed with %v: %v", errno, err)
			}
			fail.Store(false)
			h, err := a.TryLock("s1", "k", lock.Exclusive)
			if err != nil {
				t.Fatalf("take after the probe's %v passed: %v", errno, err)
			}
			h.Unlock()
			if n := a.ReopenTriesForTest(); n != 2 {
				t.Errorf("reopens: %d, want 2 (the failed one and the next take's)", n)
			}
		})
	}
}

// TestLockDirReopenPermissionFailureBounded: a reopen of a lock
// directory made anew that this process may not write in (made by
// another user, or with the wrong mode) or on a read-only mount. That
// lasts until someone acts (chmod, chown, a remount), as a strategy
// mismatch does: the takes for VerifyAfter fail with the reopen's error
// at once, the directory probed again no sooner. Every take probed it
// afresh (an open, a read of its StrategyFile, a probe file tried: on
// NFS, round trips each) for a failure it had met already.
func TestLockDirReopenPermissionFailureBounded(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EPERM, syscall.EROFS} {
		t.Run(errno.Error(), func(t *testing.T) {
			a, fail := replacedDirFailingProbe(t, errno)
			fail.Store(true)
			for i := range 3 {
				if h, err := a.TryLock("s1", "k", lock.Exclusive); err == nil {
					h.Unlock()
					t.Fatalf("take %d whose reopen's probe failed with %v: granted", i, errno)
				} else if !errors.Is(err, errno) {
					t.Fatalf("take %d whose reopen's probe failed with %v: %v", i, errno, err)
				}
			}
			if n := a.ReopenTriesForTest(); n != 1 {
				t.Errorf("reopens: %d, want 1 (the takes after the first fail with its error for VerifyAfter)", n)
			}
		})
	}
}

// replacedDirFailingProbe returns a Flock table (VerifyAfter an hour)
// whose lock directory was removed and made anew, so that its next take
// reopens it, and whose reopen's probe fails with errno while fail is
// set.
func replacedDirFailingProbe(t *testing.T, errno syscall.Errno) (a *lock.Table, fail *atomic.Bool) {
	t.Helper()
	dir := newLockDir(t)
	fail = new(atomic.Bool)
	a, err := lock.NewTableFailingProbe(lock.Config{Dir: dir, Strategy: lock.Flock, VerifyAfter: time.Hour}, func(step string) error {
		if step == "fstat" && fail.Load() {
			return errno
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return a, fail
}
