//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// fileVerifyAfter: on NFS, Verify writes through only for a lock the
// server has not confirmed for this long; a lock confirmed within it
// cannot have been lost to the client's lease running out (the shortest
// lease Linux nfsd accepts is 10 s), as for a Table (Config.VerifyAfter).
const fileVerifyAfter = 5 * time.Second

// fileHandle is a FileLock's open lock file. flock(2) is called directly,
// as the Table's flock backend does, rather than through gofrs/flock:
// that keeps its descriptor to itself, open and marked locked, when an
// unlock fails, so a FileLock could not close it, and the lock stayed
// held until the descriptor's finalizer ran.
type fileHandle struct {
	t    fileTarget
	path string
	f    *os.File
	// nfs: whether the file lies on an NFS mount, once Verify has
	// looked (nfsKnown); FileLock.mu guards them. Here, not in
	// FileLock: only this Verify looks (unused elsewhere, staticcheck's
	// U1000).
	nfs, nfsKnown bool
}

func newFileHandle(t fileTarget) *fileHandle { return &fileHandle{t: t, path: t.at} }

// tryLock opens the file (created if missing, a symlink refused) and
// takes the exclusive lock without waiting: false when another open file
// holds it. Read-write: NFSv4 refuses an exclusive lock on a read-only
// descriptor.
func (h *fileHandle) tryLock() (bool, error) {
	if h.f == nil {
		f, err := h.open()
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EOPNOTSUPP) {
				if m, merr := h.mode(); merr == nil && !m.IsRegular() {
					return false, notLockFile(h.path, m, err)
				}
			}
			return false, err
		}
		// A FIFO or a device opens read-write without blocking, and its
		// flock is this host's alone (see ErrNotLockFile).
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			if err != nil {
				return false, err
			}
			return false, notLockFile(h.path, fi.Mode(), nil)
		}
		h.f = f
	}
	var lerr error
	if err := h.control(func(fd int) { lerr = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) }); err != nil {
		return false, err
	}
	if errors.Is(lerr, unix.EWOULDBLOCK) {
		return false, nil
	}
	return lerr == nil, lerr
}

// open opens the lock file, created if missing, never following a
// symlink at its name: relative to its directory's descriptor where it
// has one (TryLockFileIn).
func (h *fileHandle) open() (*os.File, error) {
	if h.t.dir != nil {
		return h.t.dir.open(h.t.name, os.O_CREATE|os.O_RDWR, h.t.perm)
	}
	f, err := os.OpenFile(h.path, os.O_CREATE|os.O_RDWR|syscallNoFollow, h.t.perm)
	if err != nil {
		return nil, permissionHint(h.path, err)
	}
	return f, nil
}

// mode returns the type of the file at the lock file's name, not
// following a symlink.
func (h *fileHandle) mode() (fs.FileMode, error) {
	if h.t.dir != nil {
		return h.t.dir.mode(h.t.name)
	}
	fi, err := os.Lstat(h.path)
	if err != nil {
		return 0, err
	}
	return fi.Mode(), nil
}

// lstat stats the file at the lock file's name, not following a symlink.
func (h *fileHandle) lstat(st *unix.Stat_t) error {
	if h.t.dir == nil {
		return unix.Lstat(h.path, st)
	}
	dfd, err := h.t.dir.use()
	if err != nil {
		return err
	}
	defer h.t.dir.done()
	return unix.Fstatat(dfd, h.t.name, st, unix.AT_SYMLINK_NOFOLLOW)
}

func (h *fileHandle) unlock() error {
	if h.f == nil {
		return nil
	}
	var uerr error
	if err := h.control(func(fd int) { uerr = unix.Flock(fd, unix.LOCK_UN) }); err != nil {
		return err
	}
	return uerr
}

// control runs fn with the file's descriptor.
func (h *fileHandle) control(fn func(fd int)) error {
	sc, err := h.f.SyscallConn()
	if err != nil {
		return err
	}
	return sc.Control(func(fd uintptr) { fn(int(fd)) })
}

// close closes the file, which releases any lock taken through it.
func (h *fileHandle) close() {
	if h.f != nil {
		h.f.Close()
		h.f = nil
	}
}

// verify is Verify's check (see FileLock.Verify); l.mu is held.
func (l *FileLock) verify() error {
	h := l.h
	var fst, pst unix.Stat_t
	var ferr error
	if err := h.control(func(fd int) { ferr = unix.Fstat(fd, &fst) }); err != nil {
		return pathError("verify lock", l.path, err)
	}
	if ferr == nil {
		ferr = h.lstat(&pst)
	}
	switch {
	case errors.Is(ferr, unix.ENOENT), errors.Is(ferr, unix.ESTALE):
		return fmt.Errorf("lock %s: %w: the lock file was removed: %w", l.path, ErrLockLost, ferr)
	case ferr != nil:
		return pathError("verify lock", l.path, ferr)
	case fst.Dev != pst.Dev || fst.Ino != pst.Ino:
		return fmt.Errorf("lock %s: %w: the lock file was replaced", l.path, ErrLockLost)
	}
	write := writeThrough
	if l.ops.writeThrough != nil {
		write, l.h.nfs, l.h.nfsKnown = l.ops.writeThrough, true, true
	}
	if !l.h.nfsKnown {
		m, err := mountinfo.Lookup(filepath.Dir(h.path))
		l.h.nfs, l.h.nfsKnown = err == nil && m.IsNFS(), true
	}
	if h.t.dir != nil {
		// On NFS the look revalidates the directory above first, as a
		// Table's does: the client answered from its cache for some
		// 20 s, a lock directory moved away and made anew by another
		// host (whose next pass takes the same lock there) unseen.
		h.t.dir.setNFS(l.h.nfs)
		// The file checked through the directory's descriptor is whole
		// whatever became of the directory's name: a lock directory
		// moved away and made anew lets the next process take the same
		// lock there, as a check by path saw. Judged as a Table judges
		// its own (lockDir.check): a path that names nothing for a
		// while, the directory still linked (a symlink above it swapped
		// by ln -sfn, a directory above renamed and back), is no loss,
		// since nobody locks there meanwhile and a directory made there
		// is met at the next Verify; it stopped a sessgc pass as
		// fleet-lock-lost.
		if err := h.t.dir.check(); err != nil {
			return fmt.Errorf("lock %s: %w", l.path, err)
		}
	}
	if !l.h.nfs || time.Since(l.checked) < fileVerifyAfter {
		return nil
	}
	var op string
	var werr error
	if err := h.control(func(fd int) { op, werr = write(fd) }); err != nil {
		return pathError("verify lock", l.path, err)
	}
	switch {
	case lostWrite(werr):
		return fmt.Errorf("lock %s: %w: %s: %w", l.path, ErrLockLost, op, werr)
	case werr != nil:
		return pathError("verify lock ("+op+")", l.path, werr)
	}
	l.checked = time.Now()
	return nil
}
