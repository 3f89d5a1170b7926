package lock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FileLock is a one-shot flock(2) lock on a single file, for locks taken
// rarely and held for long, such as the fleet-wide lock that lets one sessgc
// sweep at a time. Unlike a Table it opens and closes the file around each
// use, which is simplest when round trips do not matter. In a directory
// this host's NFS server exports it also takes an open file description
// lock, as a Table's Flock does (see the package documentation).
type FileLock struct {
	path string
	h    *fileHandle
	ops  fileOps
	// dir, from TryLockFileIn, is the lock directory held open, relative
	// to which the file is opened and checked; Unlock closes it. nil: the
	// file is opened by path.
	dir *lockDir
	// ofd, in a directory this host's NFS server exports, holds the open
	// file description lock that meets the server's locks for its
	// clients (see tryLockFileOnce).
	ofd *os.File

	// mu serializes Verify and Unlock: a caller may verify on a
	// goroutine of its own while another unlocks.
	mu sync.Mutex
	// released: Unlock ran, and closed the file whatever it returned.
	released bool
	// checked: when the server last confirmed the lock (its take, or
	// Verify's write-through on NFS); lostErr: Verify found it gone,
	// for good.
	checked time.Time
	lostErr error
}

// fileOps makes a FileLock's lock and unlock calls; a test sets its
// fields to stand for a call a signal interrupted or the OS refused.
// Each gets the real call, to make or not. The zero value makes them.
type fileOps struct {
	try    func(real func() (bool, error)) (bool, error)
	unlock func(real func() error) error
	// exportTables, when not nil, replaces the NFS server's export
	// tables that exportOf reads.
	exportTables []string
	// writeThrough, when set (tests), makes Verify take the lock file
	// for one on NFS and replaces its write-through there.
	writeThrough func(fd int) (op string, err error)
}

func (o fileOps) tryLock(h *fileHandle) (bool, error) {
	if o.try != nil {
		return o.try(h.tryLock)
	}
	return h.tryLock()
}

func (o fileOps) unlockFile(h *fileHandle) error {
	if o.unlock != nil {
		return o.unlock(h.unlock)
	}
	return h.unlock()
}

// interrupted reports whether err is EINTR. On NFS a flock is an RPC, and a
// signal delivered to the thread meanwhile (Go's preemption signal among
// them) fails even a non-blocking one with EINTR, which says nothing about
// the lock: FileLock asks again, as the Table's flock backend does.
func interrupted(err error) bool { return errors.Is(err, syscall.EINTR) }

// TryLockFile takes an exclusive lock on path (created if missing) without
// waiting. It returns an error matching ErrLocked when another process holds
// it, ErrTooManyLocks when the server refuses the lock (ENOLCK: out of
// locks, or no lock manager) and ErrNotSupported where the file system has
// no flock. A symlink at path is refused with an error (which one varies with
// the system: O_NOFOLLOW fails with ELOOP on Linux, EMLINK on FreeBSD,
// EFTYPE on NetBSD), as a Table refuses one at a lock file's name: such
// locks live in a store's lock directory, where a planted link must not
// make the process create or lock a file elsewhere. A file name that
// Windows keeps for a device (NUL, CON, COM1, ... alone or before a dot,
// any case) is refused on every system with an error matching
// ErrInvalidName, as a Table refuses it. A lock call that a signal
// interrupted (EINTR) is made again. A relative path names the file in
// the working directory of the call: Verify checks that file, also after
// the process changed directory.
func TryLockFile(path string) (*FileLock, error) {
	return tryLockFileWith(path, fileOps{})
}

func tryLockFileWith(path string, ops fileOps) (*FileLock, error) {
	if err := nulPath("lock file", path); err != nil {
		return nil, err
	}
	if err := deviceNameError(path); err != nil {
		return nil, err
	}
	t := fileTarget{path: path, at: anchor(path), perm: 0o600}
	for {
		l, err := tryLockFileOnce(t, ops)
		if !interrupted(err) {
			return l, err
		}
	}
}

// TryLockFileIn is TryLockFile for the file name in the lock directory
// dir, created if missing with mode perm (less the umask). dir is opened
// as NewTable opens a table's, refusing a symlink at its own name, and
// held open until Unlock: the file is created, opened and checked
// (Verify) relative to that descriptor, never following a symlink, so a
// lock directory swapped for a symlink to another directory (by a writer
// of the directory above it) makes the process neither create nor lock
// a file there. TryLockFile opens path anew at each call and follows a
// symlink at every component but the last. name must be one path element:
// another is refused with an error matching ErrInvalidName, and so is a
// name Windows keeps for a device, as by TryLockFile. On systems
// without directory descriptors (Windows) dir is checked not to be a
// symlink and the file is opened by path.
func TryLockFileIn(dir, name string, perm fs.FileMode) (*FileLock, error) {
	if err := nulPath("lock file", name); err != nil {
		return nil, err
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("lock: %q in %s: %w: not a single path element", name, dir, ErrInvalidName)
	}
	if err := deviceNameError(filepath.Join(dir, name)); err != nil {
		return nil, err
	}
	d, err := openLockDir(dir)
	if err != nil {
		return nil, err
	}
	t := fileTarget{path: filepath.Join(dir, name), at: d.join(name), dir: d, name: name, perm: perm}
	for {
		l, err := tryLockFileOnce(t, fileOps{})
		if !interrupted(err) {
			if err != nil {
				d.close()
			}
			return l, err
		}
	}
}

// fileTarget is the file a FileLock locks: path, or, when dir is not
// nil, name in dir (TryLockFileIn). perm is its mode when created.
type fileTarget struct {
	// path is the caller's, for Path and messages; at is where the file
	// is reached by path, anchored at the call (see anchor).
	path, at string
	dir      *lockDir
	name     string
	perm     fs.FileMode
}

// open opens the file for the lock's open file description lock (see
// tryLockFileOnce), never following a symlink at its name.
func (t fileTarget) open() (*os.File, error) {
	if t.dir != nil {
		return t.dir.open(t.name, os.O_RDWR, 0)
	}
	f, err := os.OpenFile(t.at, os.O_RDWR|syscallNoFollow, 0)
	if err != nil {
		return nil, permissionHint(t.at, err)
	}
	return f, nil
}

// tryLockFileOnce is TryLockFile without the retry on EINTR.
func tryLockFileOnce(t fileTarget, ops fileOps) (*FileLock, error) {
	path := t.path
	h := newFileHandle(t)
	ok, err := ops.tryLock(h)
	if err != nil {
		h.close()
		return nil, refusedError(path, err)
	}
	if !ok {
		h.close()
		return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
	}
	// In a directory this host's NFS server exports, the server's locks
	// for its clients (their flocks included) are byte-range locks, which
	// the flock does not meet: sessgc from the server's cron and sessgc
	// on a client would both sweep. The flock stays for this host's
	// processes that do not see the export.
	l := &FileLock{path: path, h: h, ops: ops, dir: t.dir, checked: time.Now()}
	if exportOf(filepath.Dir(t.at), ops.exportTables) != "" {
		// The lock is taken through a descriptor of its own, which
		// Unlock closes.
		of, err := t.open()
		if err == nil {
			if err = ofdTryFile(of); err != nil {
				of.Close()
			}
		}
		if err != nil {
			l.dir = nil // the caller closes it
			l.Unlock()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
			}
			return nil, pathError("lock", path, err)
		}
		l.ofd = of
	}
	return l, nil
}

// refusedError is TryLockFile's error for err, the failure of its lock
// call. A flock the file system refuses says so with a sentinel, as a
// Table's take does: ENOLCK matches ErrTooManyLocks (the server is out of
// locks, as AWS EFS past its budget, or has no lock manager, as an NFSv3
// server without lockd), and EOPNOTSUPP, ENOSYS or EINVAL match
// ErrNotSupported (no flock there, as NewTable's probe judges it). A
// caller whose directory locks with leases (sessgc's fleet lock on such a
// store) can tell those from a lock held or a file it could not open.
func refusedError(path string, err error) error {
	errno, ok := err.(syscall.Errno) // the lock call's own, not an open's
	switch {
	case !ok:
	case errno == syscall.ENOLCK:
		return fmt.Errorf("lock %s: %w: the server refused the lock (%w): it is out of locks, or has no lock manager (NFSv3 without lockd)", path, ErrTooManyLocks, err)
	case errno == syscall.EOPNOTSUPP, errno == syscall.ENOSYS, errno == syscall.EINVAL:
		return fmt.Errorf("lock %s: %w: flock: %w", path, ErrNotSupported, err)
	case ok:
		return fmt.Errorf("lock %s: %w", path, err)
	}
	// An open's, which names the path already (and may carry the
	// permission hint, which stays last).
	return pathError("lock", path, err)
}

// LockFile takes an exclusive lock on path, waiting until ctx ends. When ctx
// ends first the error matches both ErrLocked and ctx.Err(). A nil ctx
// fails the call with an error saying so. A path refused by TryLockFile
// is refused here too, with the same error.
func LockFile(ctx context.Context, path string) (*FileLock, error) {
	return lockFileWith(ctx, path, fileOps{})
}

func lockFileWith(ctx context.Context, path string, ops fileOps) (*FileLock, error) {
	if ctx == nil {
		// Refused before the first try, not at the first wait: a nil
		// ctx would pass every test where the lock is free and panic
		// where it is contended.
		return nil, fmt.Errorf("lock %s: %w", path, errNilContext)
	}
	if err := nulPath("lock file", path); err != nil {
		return nil, err
	}
	if err := deviceNameError(path); err != nil {
		return nil, err
	}
	var d time.Duration
	t := fileTarget{path: path, at: anchor(path), perm: 0o600}
	for {
		l, err := tryLockFileOnce(t, ops)
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

// Path returns the locked file's path, "" for a nil *FileLock (a
// LockFile's result read before its error was checked).
func (l *FileLock) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Verify reports an error matching ErrLockLost when the lock is known to
// be gone: its file was removed, or replaced by a rename over its name,
// since it was locked (another process that locks the path then locks
// another file), or, on a Linux NFS mount, the server no longer holds it:
// a client cut off from the server for longer than its lease loses its
// locks, and the client then fails I/O made under the lost lock with EIO.
// There Verify writes one byte through the lock's descriptor and
// fdatasyncs it (a WRITE and a COMMIT), when the server has not confirmed
// the lock for 5 s; elsewhere it costs an fstat and an lstat. Other errors
// (the server refused the write for another reason) say nothing of the
// lock and are returned as they are. A lock on another system's NFS
// mount, whose client may not fail I/O under a lost lock, is checked
// only for its name; on Windows nothing is checked. After Unlock, Verify
// reports ErrLockLost. It may be called while another goroutine unlocks.
func (l *FileLock) Verify() error {
	if err := l.usable(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return fmt.Errorf("lock %s: verify after unlock: %w", l.path, ErrLockLost)
	}
	if l.lostErr == nil {
		l.lostErr = l.verify()
		if !errors.Is(l.lostErr, ErrLockLost) {
			err := l.lostErr
			l.lostErr = nil
			return err
		}
	}
	return l.lostErr
}

// Unlock releases the lock and closes the file. Calling it again does
// nothing. An error means the OS refused the unlock (on NFS after the
// lock was lost, say); the file is closed all the same, which releases
// whatever the process still held of the lock.
func (l *FileLock) Unlock() error {
	if err := l.usable(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	if l.ofd != nil {
		l.ofd.Close() // releases its lock
		l.ofd = nil
	}
	for {
		// An interrupted unlock leaves the lock held: asking again
		// retries it.
		if err := l.ops.unlockFile(l.h); !interrupted(err) {
			// Closed whatever the unlock returned: a file kept open
			// after a refused unlock held the lock out of every other
			// process's reach until a collection happened to run its
			// finalizer (sessgc's fleet lock, for the rest of the
			// process). Closing the file is the release no error
			// refuses.
			l.h.close()
			if l.dir != nil {
				l.dir.close()
			}
			return err
		}
	}
}

// usable fails Verify and Unlock of a nil *FileLock (a LockFile's result
// used before its error was checked, as by a defer of Unlock written
// first) or a FileLock{} no lock call made, where they panicked with a nil
// dereference.
func (l *FileLock) usable() error {
	switch {
	case l == nil:
		return errors.New("lock: nil *lock.FileLock (did LockFile fail?)")
	case l.h == nil:
		return errors.New("lock: lock.FileLock not made by LockFile or TryLockFile")
	}
	return nil
}
