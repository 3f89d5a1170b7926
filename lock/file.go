package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
)

// FileLock is a one-shot flock(2) lock on a single file, for locks taken
// rarely and held for long, such as the fleet-wide lock that lets one sessgc
// sweep at a time. Unlike a Table it opens and closes the file around each
// use, which is simplest when round trips do not matter.
type FileLock struct {
	f *flock.Flock
}

// TryLockFile takes an exclusive lock on path (created if missing) without
// waiting. It returns an error matching ErrLocked when another process holds
// it. A symlink at path is refused with an error (which one varies with
// the system: O_NOFOLLOW fails with ELOOP on Linux, EMLINK on FreeBSD,
// EFTYPE on NetBSD), as a Table refuses one at a lock file's name: such
// locks live in a store's lock directory, where a planted link must not
// make the process create or lock a file elsewhere.
func TryLockFile(path string) (*FileLock, error) {
	// Read-write: NFSv4 refuses an exclusive lock on a read-only descriptor.
	f := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|syscallNoFollow), flock.SetPermissions(0o600))
	ok, err := f.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
	}
	return &FileLock{f: f}, nil
}

// LockFile takes an exclusive lock on path, waiting until ctx ends. When ctx
// ends first the error matches both ErrLocked and ctx.Err().
func LockFile(ctx context.Context, path string) (*FileLock, error) {
	var d time.Duration
	for {
		l, err := TryLockFile(path)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, ErrLocked) {
			return nil, err
		}
		d = backoff(d, maxPoll)
		if err := sleepCtx(ctx, d); err != nil {
			return nil, &waitError{path: path, err: err}
		}
	}
}

// Path returns the locked file's path.
func (l *FileLock) Path() string { return l.f.Path() }

// Unlock releases the lock and closes the file. Calling it again does nothing.
func (l *FileLock) Unlock() error { return l.f.Unlock() }
