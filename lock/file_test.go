package lock_test

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestFileLockRetriesEINTR: a flock that a signal interrupts (EINTR, on NFS
// even for a non-blocking one) says nothing about the lock, so TryLockFile,
// LockFile and Unlock ask again rather than fail: sessgc's fleet lock
// failed the pass (exit 3) on one such signal.
func TestFileLockRetriesEINTR(t *testing.T) {
	// interruptOnce returns hooks whose first TryLock and first Unlock
	// fail with EINTR without calling flock; calls counts the calls made.
	interruptOnce := func(calls *int) lock.FileLockHooks {
		return lock.FileLockHooks{
			TryLock: func(real func() (bool, error)) (bool, error) {
				*calls++
				if *calls == 1 {
					return false, syscall.EINTR
				}
				return real()
			},
			Unlock: func(real func() error) error {
				*calls++
				if *calls == 3 {
					return syscall.EINTR
				}
				return real()
			},
		}
	}
	for _, tc := range []struct {
		name string
		take func(path string, h lock.FileLockHooks) (*lock.FileLock, error)
	}{
		{"TryLockFile", lock.TryLockFileWithHooks},
		{"LockFile", func(path string, h lock.FileLockHooks) (*lock.FileLock, error) {
			return lock.LockFileWithHooks(context.Background(), path, h)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "fleet.lock")
			var calls int
			l, err := tc.take(p, interruptOnce(&calls))
			if err != nil {
				t.Fatalf("%s with one EINTR: %v", tc.name, err)
			}
			if calls != 2 {
				t.Errorf("%s made %d lock calls, want 2 (one interrupted, one taking the lock)", tc.name, calls)
			}
			if other, err := lock.TryLockFile(p); !errors.Is(err, lock.ErrLocked) {
				if other != nil {
					other.Unlock()
				}
				l.Unlock()
				t.Fatalf("TryLockFile while %s holds the lock: %v, want ErrLocked", tc.name, err)
			}
			if err := l.Unlock(); err != nil {
				t.Fatalf("Unlock with one EINTR: %v", err)
			}
			if calls != 4 {
				t.Errorf("%d calls after Unlock, want 4 (one unlock interrupted, one releasing)", calls)
			}
			other, err := lock.TryLockFile(p)
			if err != nil {
				t.Fatalf("TryLockFile after Unlock: %v (the lock was not released)", err)
			}
			other.Unlock()
		})
	}
}

// TestLockFileEINTRHonoursContext: LockFile retries EINTR at once, but not
// past its context's end.
func TestLockFileEINTRHonoursContext(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fleet.lock")
	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	l, err := lock.LockFileWithHooks(ctx, p, lock.FileLockHooks{
		TryLock: func(func() (bool, error)) (bool, error) {
			calls++
			if calls == 3 {
				cancel()
			}
			return false, syscall.EINTR
		},
	})
	if err == nil {
		l.Unlock()
		t.Fatal("LockFile succeeded with every flock interrupted")
	}
	if !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.Canceled) {
		t.Fatalf("LockFile: %v; want an error matching ErrLocked and context.Canceled", err)
	}
	if calls != 3 {
		t.Errorf("LockFile made %d lock calls, want 3 (none after the context ended)", calls)
	}
}

// TestFileLockRefusedSentinels: a flock the file system refuses matches a
// sentinel, as a Table's take does: ENOLCK (the server out of locks, or
// without a lock manager) ErrTooManyLocks, EOPNOTSUPP, ENOSYS and EINVAL
// (no flock there) ErrNotSupported; none matches ErrLocked, and LockFile
// gives up at once. They were bare errors, and sessgc on a store that
// locks with leases, because flock does not work on its mount, could not
// tell them from a fault of the store and failed every pass.
func TestFileLockRefusedSentinels(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		want  error
	}{
		{syscall.ENOLCK, lock.ErrTooManyLocks},
		{syscall.EOPNOTSUPP, lock.ErrNotSupported},
		{syscall.ENOSYS, lock.ErrNotSupported},
		{syscall.EINVAL, lock.ErrNotSupported},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "fleet.lock")
			calls := 0
			refuse := lock.FileLockHooks{TryLock: func(func() (bool, error)) (bool, error) {
				calls++
				return false, tc.errno
			}}
			for _, take := range []struct {
				name string
				f    func() (*lock.FileLock, error)
			}{
				{"TryLockFile", func() (*lock.FileLock, error) { return lock.TryLockFileWithHooks(p, refuse) }},
				{"LockFile", func() (*lock.FileLock, error) { return lock.LockFileWithHooks(context.Background(), p, refuse) }},
			} {
				calls = 0
				l, err := take.f()
				if err == nil {
					l.Unlock()
					t.Fatalf("%s with flock refused: no error", take.name)
				}
				if !errors.Is(err, tc.want) || !errors.Is(err, tc.errno) || errors.Is(err, lock.ErrLocked) {
					t.Errorf("%s with flock refused (%v): %v; want it to match %v and %v, not ErrLocked", take.name, tc.errno, err, tc.want, tc.errno)
				}
				if calls != 1 {
					t.Errorf("%s made %d lock calls, want 1: a refusal is answered at once", take.name, calls)
				}
			}
			l, err := lock.TryLockFile(p)
			if err != nil {
				t.Fatalf("TryLockFile after the refusals: %v (a refused take kept the file)", err)
			}
			l.Unlock()
		})
	}
}
