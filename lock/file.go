package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// FileLock is a one-shot flock(2) lock on a single file, for locks taken
// rarely and held for long, such as the fleet-wide lock that lets one sessgc
// sweep at a time. Unlike a Table it opens and closes the file around each
// use, which is simplest when round trips do not matter. In a directory
// this host's NFS server exports it also takes an open file description
// lock, as a Table's Flock does (see the package documentation).
type FileLock struct {
	f   *flock.Flock
	ops fileOps
	// ofd, in a directory this host's NFS server exports, holds the open
	// file description lock that meets the server's locks for its
	// clients (see tryLockFileOnce).
	ofd *os.File
}

// fileOps makes a FileLock's calls into gofrs/flock; a test sets its fields
// to stand for a call a signal interrupted. The zero value calls gofrs/flock.
type fileOps struct {
	try    func(*flock.Flock) (bool, error)
	unlock func(*flock.Flock) error
	// exportTables, when not nil, replaces the NFS server's export
	// tables that exportOf reads.
	exportTables []string
}

func (o fileOps) tryLock(f *flock.Flock) (bool, error) {
	if o.try != nil {
		return o.try(f)
	}
	return f.TryLock()
}

func (o fileOps) unlockFile(f *flock.Flock) error {
	if o.unlock != nil {
		return o.unlock(f)
	}
	return f.Unlock()
}

// interrupted reports whether err is EINTR. On NFS a flock is an RPC, and a
// signal delivered to the thread meanwhile (Go's preemption signal among
// them) fails even a non-blocking one with EINTR, which says nothing about
// the lock: gofrs/flock passes it on without retrying, so FileLock retries,
// as the Table's flock backend does.
func interrupted(err error) bool { return errors.Is(err, syscall.EINTR) }

// TryLockFile takes an exclusive lock on path (created if missing) without
// waiting. It returns an error matching ErrLocked when another process holds
// it. A symlink at path is refused with an error (which one varies with
// the system: O_NOFOLLOW fails with ELOOP on Linux, EMLINK on FreeBSD,
// EFTYPE on NetBSD), as a Table refuses one at a lock file's name: such
// locks live in a store's lock directory, where a planted link must not
// make the process create or lock a file elsewhere. A lock call that a
// signal interrupted (EINTR) is made again.
func TryLockFile(path string) (*FileLock, error) {
	return tryLockFileWith(path, fileOps{})
}

func tryLockFileWith(path string, ops fileOps) (*FileLock, error) {
	for {
		l, err := tryLockFileOnce(path, ops)
		if !interrupted(err) {
			return l, err
		}
	}
}

// tryLockFileOnce is TryLockFile without the retry on EINTR.
func tryLockFileOnce(path string, ops fileOps) (*FileLock, error) {
	// Read-write: NFSv4 refuses an exclusive lock on a read-only descriptor.
	f := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|syscallNoFollow), flock.SetPermissions(0o600))
	ok, err := ops.tryLock(f)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
	}
	// In a directory this host's NFS server exports, the server's locks
	// for its clients (their flocks included) are byte-range locks, which
	// the flock does not meet: sessgc from the server's cron and sessgc
	// on a client would both sweep. The flock stays for this host's
	// processes that do not see the export.
	l := &FileLock{f: f, ops: ops}
	if exportOf(filepath.Dir(path), ops.exportTables) != "" {
		// gofrs/flock does not share its descriptor: the lock is taken
		// through one of its own, which Unlock closes.
		of, err := os.OpenFile(path, os.O_RDWR|syscallNoFollow, 0)
		if err == nil {
			if err = ofdTryFile(of); err != nil {
				of.Close()
			}
		}
		if err != nil {
			l.Unlock()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		l.ofd = of
	}
	return l, nil
}

// LockFile takes an exclusive lock on path, waiting until ctx ends. When ctx
// ends first the error matches both ErrLocked and ctx.Err().
func LockFile(ctx context.Context, path string) (*FileLock, error) {
	return lockFileWith(ctx, path, fileOps{})
}

func lockFileWith(ctx context.Context, path string, ops fileOps) (*FileLock, error) {
	var d time.Duration
	for {
		l, err := tryLockFileOnce(path, ops)
		switch {
		case err == nil:
			return l, nil
		case interrupted(err):
			// Nothing is known of the lock: ask again at once, unless ctx
			// ended meanwhile (the signal may have been the one that ends it).
			if err := ctx.Err(); err != nil {
				return nil, &waitError{path: path, err: err}
			}
			continue
		case !errors.Is(err, ErrLocked):
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
func (l *FileLock) Unlock() error {
	if l.ofd != nil {
		l.ofd.Close() // releases its lock
		l.ofd = nil
	}
	for {
		// gofrs/flock keeps the file open and the lock marked held when the
		// unlock fails, so calling it again retries the unlock.
		err := l.ops.unlockFile(l.f)
		if !interrupted(err) {
			return err
		}
	}
}
