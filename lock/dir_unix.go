//go:build unix

package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/nospace"
	"github.com/sessfs/sessfs/internal/statmode"
)

// lockDir is the lock directory, held open. Lock and lease files are
// opened, created, renamed and removed relative to its descriptor, so a
// directory swapped for a symlink after the table opened it is not
// followed; the directory itself is opened with O_NOFOLLOW, so a symlink
// at its own name is refused at NewTable (the directories above it are the
// operator's choice and are followed once, there). An open relative to a
// directory descriptor costs the same lookup, on NFS the same OPEN, as one
// by path.
//
// The descriptor is closed once the table is closed and nothing still
// uses it: a lease held across Close still removes its file at Unlock.
type lockDir struct {
	path string

	mu     sync.Mutex
	fd     int
	refs   int // the table's, plus one per operation or held lease
	closed bool
	// borrowed: fd is its opener's, who closes it (see LeaseDirAt).
	borrowed bool

	// dev and ino name the directory opened, read once at the open:
	// check compares the one at path with it (zero: never checked, as
	// for a borrowed descriptor).
	dev, ino uint64
	// lookedAt: when check last looked at path (see due).
	lookedAt atomic.Int64
	// lostErr, once set, says that path names another directory (or
	// nothing): every lock taken in this one is lost. Never cleared.
	lostErr atomic.Pointer[error]
	// nfs: the directory is on NFS, where check revalidates the one
	// above it first (see refreshDir). Set before the directory is used
	// (a Table), or by the Verify that looks (a fleet lock, under its
	// mutex).
	nfs bool
}

// errDirSymlink is the refusal of a lock directory that is a symlink.
var errDirSymlink = errors.New("lock directory is a symlink")

func openLockDir(path string) (*lockDir, error) {
	if err := nulPath("lock directory", path); err != nil {
		return nil, err
	}
	// Anchored: replaced looks at the directory's name again later.
	path = anchor(path)
	fd, err := openDirNoFollow(path)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	d := &lockDir{path: path, fd: fd, refs: 1, dev: uint64(st.Dev), ino: uint64(st.Ino)}
	d.lookedAt.Store(int64(monoNow()))
	return d, nil
}

// borrowLockDir is the lock directory path, open at fd, which its caller
// keeps and closes.
func borrowLockDir(path string, fd int) *lockDir {
	return &lockDir{path: path, fd: fd, refs: 1, borrowed: true}
}

func openDirNoFollow(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ELOOP || err == unix.EMLINK || err == unix.ENOTDIR {
			if st, serr := os.Lstat(path); serr == nil && st.Mode()&fs.ModeSymlink != 0 {
				return -1, fmt.Errorf("%w: %s: %w", errDirSymlink, path, unix.ELOOP)
			}
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open lock directory", Path: path, Err: err}
		}
		return fd, nil
	}
}

// use returns the descriptor, valid until done.
func (d *lockDir) use() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return -1, ErrClosed
	}
	d.refs++
	return d.fd, nil
}

func (d *lockDir) done() {
	d.mu.Lock()
	d.refs--
	fd := -1
	if d.refs == 0 && d.fd >= 0 {
		fd, d.fd = d.fd, -1
	}
	d.mu.Unlock()
	// Closed outside d.mu, which every open of a lock or lease file takes.
	if fd >= 0 && !d.borrowed {
		unix.Close(fd)
	}
}

// close drops the table's reference.
func (d *lockDir) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	d.done()
}

func (d *lockDir) join(name string) string { return filepath.Join(d.path, name) }

// openFd opens name in the directory, never following a symlink.
func (d *lockDir) openFd(name string, flags int, perm fs.FileMode) (int, error) {
	dfd, err := d.use()
	if err != nil {
		return -1, err
	}
	defer d.done()
	for {
		fd, err := unix.Openat(dfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOSPC {
			return -1, nospace.Explain(dfd, err)
		}
		if err == unix.EMLINK {
			err = unix.ELOOP // FreeBSD's spelling of O_NOFOLLOW's refusal
		}
		return fd, err
	}
}

// open is openFd for an *os.File, with os.OpenFile's error.
func (d *lockDir) open(name string, flags int, perm fs.FileMode) (*os.File, error) {
	fd, err := d.openFd(name, flags, perm)
	if err != nil {
		return nil, permissionHint(d.join(name), &fs.PathError{Op: "open", Path: d.join(name), Err: err})
	}
	return os.NewFile(uintptr(fd), d.join(name)), nil
}

// list opens the directory itself for listing, through its descriptor: by
// path, a lock directory swapped for a symlink after the table opened it
// was listed where the link pointed, and one swapped for a FIFO hung the
// listing's open.
func (d *lockDir) list() (*os.File, error) {
	return d.open(".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

// removeUnless is remove: a remove here is never refused for a while
// and tried again (see the Windows version).
func (d *lockDir) removeUnless(name string, _ func() bool) error { return d.remove(name) }

func (d *lockDir) remove(name string) error {
	dfd, err := d.use()
	if err != nil {
		return err
	}
	defer d.done()
	if err := unix.Unlinkat(dfd, name, 0); err != nil {
		// Refused (EPERM: a sticky directory and another user's file,
		// an immutable or append-only directory; EACCES), it says what
		// to do, as a refused open does: a lease's Unlock or a
		// breaker's removal failed with a bare "operation not
		// permitted".
		return permissionHint(d.join(name), &fs.PathError{Op: "remove", Path: d.join(name), Err: err})
	}
	return nil
}

func (d *lockDir) rename(oldName, newName string) error {
	dfd, err := d.use()
	if err != nil {
		return err
	}
	defer d.done()
	if err := unix.Renameat(dfd, oldName, dfd, newName); err != nil {
		// Refused, the file replaced is the one a sticky directory or
		// an attribute protects: see remove.
		return permissionHint(d.join(newName), &os.LinkError{Op: "rename", Old: d.join(oldName), New: d.join(newName), Err: err})
	}
	return nil
}

// linkUnsupported reports a filesystem without hard links (FAT, exFAT,
// SMB, some FUSE filesystems): EPERM is how Linux refuses one, ENOTSUP
// (not EOPNOTSUPP there) how macOS does.
func linkUnsupported(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOSYS)
}

// ident returns the inode number of name, its ctime and its mtime, not
// following a symlink. A file's age is its ctime, not its mtime: an NFS
// exclusive create parks its verifier in the new file's atime and mtime
// (some time between 1970 and 2038) until the client's SETATTR that
// follows the OPEN, while the ctime is the server's clock from the start.
func (d *lockDir) ident(name string) (ino uint64, ctime, mtime int64, err error) {
	dfd, err := d.use()
	if err != nil {
		return 0, 0, 0, err
	}
	defer d.done()
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, 0, 0, &fs.PathError{Op: "lstat", Path: d.join(name), Err: err}
	}
	return uint64(st.Ino), st.Ctim.Nano(), st.Mtim.Nano(), nil
}

// mode returns the type and permission bits of name, not following a
// symlink.
func (d *lockDir) mode(name string) (fs.FileMode, error) {
	dfd, err := d.use()
	if err != nil {
		return 0, err
	}
	defer d.done()
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, &fs.PathError{Op: "lstat", Path: d.join(name), Err: err}
	}
	return statmode.Type(uint32(st.Mode)), nil
}

// setNFS records that the directory is on NFS (see check).
func (d *lockDir) setNFS(nfs bool) { d.nfs = nfs }

// onNFS reports what setNFS recorded.
func (d *lockDir) onNFS() bool { return d.nfs }

// gone returns, as an error matching ErrLockLost, that check found
// another directory (or nothing) at d's path, or nil. It does no I/O.
func (d *lockDir) gone() error {
	if p := d.lostErr.Load(); p != nil {
		return *p
	}
	return nil
}

// due reports whether d's path was last looked at (check) every or
// longer ago, and if so counts the look as made now, so that of the
// goroutines that ask at once one makes it.
func (d *lockDir) due(every time.Duration) bool {
	if d.ino == 0 {
		return false
	}
	now := monoNow()
	last := mono(d.lookedAt.Load())
	return now.sub(last) >= every && d.lookedAt.CompareAndSwap(int64(last), int64(now))
}

// check looks at d's path and reports, as an error matching ErrLockLost
// that gone reports from then on, that it no longer names the directory
// d opened but could name another one that locks are taken in: nothing
// there, d removed (a process that opens the store next makes it anew:
// rm -rf), or another directory (mv and mkdir, a restored copy). Nothing
// there with d still linked somewhere (moved away, or a symlink above
// the path replaced by an unlink and a link) is not a loss yet: nobody
// locks at a path that names nothing, and a directory made there is met
// at a later look. A symlink or a file
// there is refused by every process that opens the path (see
// openDirNoFollow): not a loss. A look that fails otherwise (EACCES on a
// directory above) says nothing, and is returned as it is.
//
// It costs an lstat: none of the file system's I/O for a name whose
// entry is cached, on a local file system. On NFS it costs a GETATTR of
// the directory above first (refreshDir; a LOOKUP more once that changed),
// without which the client answered from its cache for some 20 s in the
// NFS suite: a Table looks only where a round trip is paid anyway there
// (see Table.current).
func (d *lockDir) check() error {
	if err := d.gone(); err != nil || d.ino == 0 {
		return err
	}
	d.lookedAt.Store(int64(monoNow()))
	if d.nfs {
		refreshDir(filepath.Dir(d.path))
	}
	var now unix.Stat_t
	var lost error
	switch err := unix.Lstat(d.path, &now); {
	case err == unix.ENOENT && d.linked():
		// Nothing at the path, and the directory opened is still
		// somewhere (moved away, or a directory or symlink above the
		// path swapped by an unlink and a new link: ln -sfn): nobody
		// locks at a path that names nothing, and a directory made
		// there later is met at a later look.
		return nil
	case err == unix.ENOENT:
		lost = fmt.Errorf("%w: the lock directory %s was removed", ErrLockLost, d.path)
	case err != nil:
		return &fs.PathError{Op: "lstat", Path: d.path, Err: err}
	case now.Mode&unix.S_IFMT == unix.S_IFDIR && (uint64(now.Dev) != d.dev || uint64(now.Ino) != d.ino):
		lost = fmt.Errorf("%w: the lock directory %s was replaced by another directory", ErrLockLost, d.path)
	default:
		return nil
	}
	d.lostErr.CompareAndSwap(nil, &lost)
	return d.gone()
}

// linked reports whether the directory opened still has a name
// somewhere: not removed (its link count is 0 once it is, or its
// descriptor stale on NFS).
func (d *lockDir) linked() bool {
	fd, err := d.use()
	if err != nil {
		return false
	}
	defer d.done()
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Nlink > 0
}

// renameRefusedOpen: a rename here replaces a file open elsewhere.
func renameRefusedOpen(error) bool { return false }

// isStale reports an NFS stale file handle: the file read was removed or
// replaced on the server meanwhile.
func isStale(err error) bool { return errors.Is(err, unix.ESTALE) }
