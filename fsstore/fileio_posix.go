//go:build linux || darwin || freebsd

package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/nospace"
	"github.com/sessfs/sessfs/internal/statmode"
)

// Raw syscalls instead of os.File on the hot paths: os.Open registers every
// descriptor with the runtime poller (an fcntl and a failing epoll_ctl on a
// regular file, then the undo), which roughly doubles the cost of a small
// read on local disk. Regular files never block in the poller's sense, so we
// lose nothing.
//
// This file holds what linux, darwin and freebsd share; fileio_linux.go,
// fileio_bsd.go, fileio_darwin.go and fileio_freebsd.go hold what they do
// not.

// platformErr is nil: the store is supported here.
var platformErr error

func retryEINTR[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != unix.EINTR {
			return v, err
		}
	}
}

func statOf(st *unix.Stat_t) fileStat {
	fst := fileStat{
		dev:   uint64(st.Dev), // int32 on darwin, uint64 elsewhere
		ino:   uint64(st.Ino),
		size:  st.Size,
		mtime: time.Unix(st.Mtim.Unix()),
		atime: time.Unix(st.Atim.Unix()),
		ctime: time.Unix(st.Ctim.Unix()),
		nlink: uint64(st.Nlink), // uint16 on darwin, uint32 on linux/arm64
		typ:   statmode.Type(uint32(st.Mode)),
	}
	return fst
}

// noFollowErr gives a refused symlink one spelling: FreeBSD reports
// O_NOFOLLOW's refusal as EMLINK, the others as ELOOP.
func noFollowErr(err error) error {
	if err == unix.EMLINK {
		return unix.ELOOP
	}
	return err
}

// isSymlinkErr reports a path refused because it has a symlink in it.
func isSymlinkErr(err error) bool { return errors.Is(err, unix.ELOOP) }

// isStale reports NFS's ESTALE: the file behind a looked-up name is gone.
func isStale(err error) bool { return errors.Is(err, unix.ESTALE) }

// rootDir is the store's directory, held open, from which every path below
// it is resolved without following a symlink at any component: a shard
// directory (or data/, or locks/) replaced by a symlink to a directory
// outside the store makes operations fail with ELOOP instead of reading,
// writing or removing files out there. Symlinks above the root (in the
// path given to Open) are the operator's choice and are followed once, at
// Open.
//
// On Linux with openat2(2) (5.6 and later) the kernel resolves the whole
// path in one call (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so this costs no
// more syscalls or NFS round trips than an open by absolute path; elsewhere
// each directory is opened in turn with O_NOFOLLOW|O_DIRECTORY.
// Operations that take a name rather than open a file (stat, rename,
// unlink, link, utimes) do so relative to their directory opened that way.
type rootDir struct {
	path string // absolute; every path handed to the methods starts with it

	mu sync.RWMutex // held shared while fd is in use, so close waits
	fd int          // -1 once closed

	noOpenat2 atomic.Bool // openat2 is unavailable (old kernel, seccomp)
	noNoatime atomic.Bool // an O_NOATIME open was refused (files not ours)
	noStatx   bool        // statx is refused (statxRefused): fstatat instead

	// testHook (tests only, see withTestFS) runs with the descriptor in
	// use, where a call on a hung server would hold it.
	testHook func(site string)
	// testDirSync (tests only) replaces the fsync of a record's directory
	// after its rename, which no filesystem fails on demand, and that of a
	// new shard directory's parent (DurabilityFull).
	testDirSync func(dfd int) error
	// testOpened (tests only) runs with the path of each open below the
	// root, to count them.
	testOpened func(p string)
	// testFault (tests only) runs with the path of each open and lstat of
	// a file below the root; an error it returns is the call's, as a
	// server's EIO or ESTALE would be, which no file system gives on
	// demand.
	testFault func(p string) error
	// testOpenFault (tests only) is testFault for opens alone: a file
	// whose attributes can be read but not its data (EACCES of a file
	// another user made, EIO of a damaged one).
	testOpenFault func(p string) error
}

func (r *rootDir) setTestHook(h func(site string)) { r.testHook = h }

func (r *rootDir) setTestDirSync(f func(dfd int) error) { r.testDirSync = f }

// openRoot opens the store's directory.
func openRoot(path string) (*rootDir, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	r := &rootDir{path: filepath.Clean(path), fd: fd, noStatx: statxRefused()}
	r.noOpenat2.Store(openat2Refused())
	return r, nil
}

func (r *rootDir) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// acquire returns the root's descriptor, valid until release.
func (r *rootDir) acquire() (int, error) {
	r.mu.RLock()
	if r.fd < 0 {
		r.mu.RUnlock()
		return -1, ErrClosed
	}
	if r.testHook != nil {
		r.testHook("root")
	}
	return r.fd, nil
}

func (r *rootDir) release() { r.mu.RUnlock() }

// rel turns a path below the root into one relative to it.
func (r *rootDir) rel(p string) (string, error) {
	if len(p) > len(r.path)+1 && p[len(r.path)] == '/' && p[:len(r.path)] == r.path {
		return p[len(r.path)+1:], nil
	}
	if p == r.path {
		return ".", nil
	}
	return "", errors.New("path outside the store") // a bug, not an input
}

// walkBeneath opens rel below the directory descriptor root, one component
// at a time: every directory with O_NOFOLLOW|O_DIRECTORY, the last
// component with flags|O_NOFOLLOW.
func walkBeneath(root int, rel string, flags int, mode uint32) (int, error) {
	cur := root
	defer func() {
		if cur != root {
			unix.Close(cur)
		}
	}()
	for {
		i := strings.IndexByte(rel, '/')
		if i < 0 {
			break
		}
		comp := rel[:i]
		rel = rel[i+1:]
		if comp == "" || comp == "." {
			continue
		}
		if comp == ".." {
			return -1, unix.EXDEV
		}
		next, err := retryEINTR(func() (int, error) {
			return openatName(cur, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		})
		if err != nil {
			return -1, symlinkErr(cur, comp, err)
		}
		if cur != root {
			unix.Close(cur)
		}
		cur = next
	}
	if rel == ".." {
		return -1, unix.EXDEV
	}
	fd, err := retryEINTR(func() (int, error) {
		return openatName(cur, rel, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	})
	return fd, symlinkErr(cur, rel, err)
}

// symlinkErr spells "there is a symlink at dirfd/name" ELOOP, whatever the
// open that met it said: ENOTDIR for O_DIRECTORY on some systems (and for
// O_PATH|O_NOFOLLOW, which opens the link itself), EMLINK on FreeBSD.
func symlinkErr(dirfd int, name string, err error) error {
	if err == unix.ENOTDIR {
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && uint32(st.Mode)&unix.S_IFMT == unix.S_IFLNK {
			return unix.ELOOP
		}
	}
	return noFollowErr(err)
}

// open opens the file at p (below the root), not following a symlink at
// any component.
func (r *rootDir) open(p string, flags int, mode uint32) (int, error) {
	if r.testOpened != nil {
		r.testOpened(p)
	}
	if r.testFault != nil {
		if err := r.testFault(p); err != nil {
			return -1, err
		}
	}
	if r.testOpenFault != nil {
		if err := r.testOpenFault(p); err != nil {
			return -1, err
		}
	}
	rel, err := r.rel(p)
	if err != nil {
		return -1, err
	}
	fd, err := r.openRel(rel, flags, mode)
	if err == unix.ESTALE && r.reopen() == nil {
		// The held descriptor may be what went stale: on NFS, the
		// store's directory removed and created again on the server (a
		// restore from backup). An open by path would have looked it up
		// afresh; so does this, once.
		fd, err = r.openRel(rel, flags, mode)
	}
	return fd, err
}

func (r *rootDir) openRel(rel string, flags int, mode uint32) (int, error) {
	root, err := r.acquire()
	if err != nil {
		return -1, err
	}
	defer r.release()
	return r.openBeneath(root, rel, flags, mode)
}

// reopen replaces the held descriptor with a fresh open of the root's path.
func (r *rootDir) reopen() error {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(r.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fd < 0 {
		unix.Close(fd)
		return ErrClosed
	}
	unix.Close(r.fd)
	r.fd = fd
	return nil
}

// parent opens the directory holding p, for the *at syscalls on its name.
// The descriptor is only for lookups (O_PATH on Linux) unless forSync.
func (r *rootDir) parent(p string, forSync bool) (int, string, error) {
	dir, name := filepath.Split(p)
	flags := dirLookupFlags
	if forSync {
		flags = unix.O_RDONLY
	}
	fd, err := r.open(filepath.Clean(dir), flags|unix.O_DIRECTORY, 0)
	return fd, name, err
}

// rfile is a file open for reading.
type rfile struct{ fd int }

// openRead opens a regular file for reading. It refuses a symlink at any
// component and anything but a regular file (errNotRegular): the open is
// non-blocking, so a FIFO or a device planted at a record's name cannot
// hang the caller (while it holds the session's lock), and the type is
// checked on the open descriptor, so nothing swapped in between a check and
// the open gets through. The attributes come from that descriptor: under
// NFS close-to-open consistency the open revalidated them.
//
// Reads do not update the access time (O_NOATIME, where the process owns
// the files): nothing reads it, and under relatime every first read after
// a save or touch would otherwise dirty the inode, a journal write on ext4
// paid by every Load.
func (r *rootDir) openRead(p string) (rfile, fileStat, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK
	if noatimeFlag != 0 && !r.noNoatime.Load() {
		fd, err := r.open(p, flags|noatimeFlag, 0)
		if err != unix.EPERM {
			return checkRegular(fd, err)
		}
		// Not the files' owner (a fleet sharing files through their
		// group): plain opens from now on.
		r.noNoatime.Store(true)
	}
	fd, err := r.open(p, flags, 0)
	return checkRegular(fd, err)
}

// openReadPath is openRead for a path not resolved below a rootDir: only
// its last component is refused as a symlink.
func openReadPath(p string) (rfile, fileStat, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	f, st, err := checkRegular(fd, noFollowErr(err))
	if err != nil && err != errNotRegular {
		err = &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return f, st, err
}

// checkRegular finishes a non-blocking open for reading: it keeps the
// descriptor only if it is a regular file.
func checkRegular(fd int, err error) (rfile, fileStat, error) {
	if err == unix.ENXIO || err == unix.EOPNOTSUPP {
		// A socket (or a device without a driver): only non-regular
		// files fail so.
		return rfile{}, fileStat{}, errNotRegular
	}
	if err != nil {
		return rfile{}, fileStat{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return rfile{}, fileStat{}, err
	}
	fst := statOf(&st)
	if fst.typ != 0 {
		unix.Close(fd)
		return rfile{}, fst, errNotRegular
	}
	return rfile{fd}, fst, nil
}

func (f rfile) readAt(b []byte, off int64) (int, error) {
	return retryEINTR(func() (int, error) { return unix.Pread(f.fd, b, off) })
}

func (f rfile) read(b []byte) (int, error) {
	return retryEINTR(func() (int, error) { return unix.Read(f.fd, b) })
}

func (f rfile) close() error { return unix.Close(f.fd) }

// stat returns the open file's attributes (on NFS from the attribute
// cache while it is valid).
func (f rfile) stat() (fileStat, error) {
	var st unix.Stat_t
	if _, err := retryEINTR(func() (int, error) { return 0, unix.Fstat(f.fd, &st) }); err != nil {
		return fileStat{}, err
	}
	return statOf(&st), nil
}

// touch sets the open file's access and modification times to t, or to
// the current time when t is nil (the server's, on NFS): through the
// descriptor, no name resolved. errNoFDTouch where the platform cannot.
func (f rfile) touch(t *time.Time) error { return touchFD(f.fd, timesOf(t)) }

// timesOf is utimensat's times argument: nil means now.
func timesOf(t *time.Time) []unix.Timespec {
	if t == nil {
		return nil
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	return []unix.Timespec{ts, ts}
}

// pfile is a file opened only to name it (O_PATH on Linux): no NFS OPEN,
// nothing to read.
type pfile struct{ fd int }

// openPath opens the file at p (below the root, no symlink followed) for
// stat and touch only, and returns its attributes. Where the platform has
// no O_PATH it returns errNoFDTouch without opening anything.
func (r *rootDir) openPath(p string) (pfile, fileStat, error) {
	if pathOnlyFlags == 0 {
		return pfile{}, fileStat{}, errNoFDTouch
	}
	fd, err := r.open(p, pathOnlyFlags, 0)
	if err != nil {
		return pfile{}, fileStat{}, err
	}
	f := pfile{fd}
	st, err := f.stat()
	if err != nil {
		f.close()
		return pfile{}, fileStat{}, err
	}
	return f, st, nil
}

func (f pfile) close() error { return unix.Close(f.fd) }

func (f pfile) stat() (fileStat, error) { return rfile(f).stat() }

// touch sets the times as rfile.touch does, on a file opened by openPath.
func (f pfile) touch(t *time.Time) error { return touchPathFD(f.fd, timesOf(t)) }

// statNow returns the attributes of the file at p (below the root, no
// symlink followed) from the file server rather than this client's
// attribute cache (statFreshAt).
func (r *rootDir) statNow(p string) (fileStat, error) {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return fileStat{}, err
	}
	defer unix.Close(dfd)
	return statFreshAt(dfd, name, r.noStatx)
}

// forcesFresh reports whether statNow and statFresh ask the file server
// whatever the client has cached (see Store.fetchesFresh): where the
// platform can (statFreshForced) and statx is not refused.
func (r *rootDir) forcesFresh() bool { return statFreshForced && !r.noStatx }

// fstatatNoFollow returns name's attributes in dfd, no symlink followed.
func fstatatNoFollow(dfd int, name string) (fileStat, error) {
	var st unix.Stat_t
	if _, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return fileStat{}, err
	}
	return statOf(&st), nil
}

// openDir opens a directory below the root (or the root) for listing.
func (r *rootDir) openDir(dir string) (*os.File, error) {
	fd, err := r.open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// mkdirAll creates dir and its missing parents below the root, each with
// mkdirat in its parent opened without following symlinks.
//
// With sync (fsync(2), or the test's), it fsyncs each parent after the
// mkdirat: a record fsynced into a new directory whose own entry is not
// yet durable is lost with that entry on a power loss. An existing
// directory (EEXIST) counts as created: another writer may have created it
// an instant before and not synced its parent yet. When a sync fails, a
// directory this call created is removed again if it is still empty, so
// that the next write creates it, and syncs its parent, anew; one another
// writer created is left to it, which may be about to write into it.
func (r *rootDir) mkdirAll(dir string, perm fs.FileMode, sync func(int) error) error {
	fd, name, err := r.parent(dir, sync != nil)
	if errors.Is(err, fs.ErrNotExist) && filepath.Dir(dir) != r.path {
		if err = r.mkdirAll(filepath.Dir(dir), perm, sync); err == nil {
			fd, name, err = r.parent(dir, sync != nil)
		}
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Mkdirat(fd, name, uint32(perm.Perm()))
	if err != nil && err != unix.EEXIST {
		return nospace.Explain(fd, err)
	}
	created := err == nil
	if sync != nil {
		if err := sync(fd); err != nil {
			if created {
				_ = unix.Unlinkat(fd, name, unix.AT_REMOVEDIR)
			}
			return &fs.PathError{Op: "fsync dir", Path: filepath.Dir(dir), Err: err}
		}
	}
	return nil
}

// writeAtomic replaces dir/name (below the root) with data: write a temp
// file in the same directory, optionally fsync it, close it, rename it over
// the target, and optionally fsync the directory. Readers see the old file
// or the new one, never a mix: rename(2) swaps the directory entry
// atomically, on NFS too (one RENAME operation on the server). The temp
// file is removed on every error (a fenced write's only under a verified
// lock, see writeAtomicAt), so a failed save leaves the previous session
// untouched, except when only the directory's fsync after the rename
// failed (errUnsynced): the new record is in place then.
//
// With prealloc the temp file's blocks are allocated up front (Linux only,
// see Store.prealloc for when that pays).
func (r *rootDir) writeAtomic(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool) error {
	return r.writeAtomicCheck(dir, name, data, perm, dirPerm, d, prealloc, nil, nil, nil)
}

// writeAtomicCheck is writeAtomic with a check run right before the
// rename, when everything but the rename is done: a locked save verifies
// its lock there, as late as it can. A failing check publishes nothing.
// fence, for a write under the session's lock, verifies that lock: see
// writeAtomicAt. times, when set, are the atime and mtime the new file
// gets before it is published.
func (r *rootDir) writeAtomicCheck(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool, check, fence func() error, times *[2]time.Time) error {
	dflags := dirLookupFlags
	if d >= DurabilityFull {
		dflags = unix.O_RDONLY // fsync needs a real descriptor
	}
	var sync func(int) error
	if d >= DurabilityFull {
		sync = unix.Fsync
		if r.testDirSync != nil {
			sync = r.testDirSync
		}
	}
	dfd, err := r.open(dir, dflags|unix.O_DIRECTORY, 0)
	if err == unix.ENOENT {
		// Shard directories are created on first use, not up front: that
		// keeps Save at one OPEN on the hot path and a new store small.
		// With DurabilityFull their parents are synced then, once, before
		// a record goes in (see mkdirAll).
		if err = r.mkdirAll(dir, dirPerm, sync); err == nil {
			dfd, err = r.open(dir, dflags|unix.O_DIRECTORY, 0)
		}
	}
	if err != nil {
		// pe inside the error branch: errors.As makes it escape, and a
		// heap allocation on every save that succeeds bought nothing.
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Op == "fsync dir" {
			return targetErr(dir, name, err) // nothing written, the new directory removed
		}
		if err == unix.ENOTDIR || err == unix.ELOOP {
			return fmt.Errorf("%s, or a directory of the store above it, is not a directory the store made (a file, a FIFO or a symbolic link is at its name): move it out of the store directory, or remove it, and the store makes the directory again: %w", dir, &fs.PathError{Op: "open dir", Path: dir, Err: err})
		}
		return &fs.PathError{Op: "open dir", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	if err := writeAtomicAt(dfd, dir, name, data, perm, d, prealloc, check, fence, times); err != nil {
		return targetErr(dir, name, err)
	}
	if sync != nil {
		return targetErr(dir, name, syncPublished(dfd, dir, sync))
	}
	return nil
}

// targetErr names the file a write replaces (a record, the marker) in
// front of err, an error of the write: an operator looks for that file,
// not for the temp file that a full or read-only disk refused, whose name
// alone says little.
func targetErr(dir, name string, err error) error {
	if err == nil {
		return nil
	}
	return &targetError{path: filepath.Join(dir, name), err: err}
}

// syncPublished makes the rename of a record into dfd durable with sync
// (fsync(2) but in tests); its failure is errUnsynced.
func syncPublished(dfd int, dir string, sync func(int) error) error {
	if err := sync(dfd); err != nil {
		return fmt.Errorf("%w: %w", errUnsynced, &fs.PathError{Op: "fsync dir", Path: dir, Err: err})
	}
	return nil
}

// writeAtomic is rootDir.writeAtomic for a directory that is not below a
// store's root: the store's root itself (the marker file). A failed
// directory fsync is a plain error here, not errUnsynced, though the new
// marker is in place: the marker is raised before the record that needs
// it is written, so the save it fails has written nothing.
func writeAtomic(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool) error {
	dfd, err := retryEINTR(func() (int, error) {
		return unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err == unix.ENOENT {
		if err = os.MkdirAll(dir, dirPerm); err == nil {
			dfd, err = retryEINTR(func() (int, error) {
				return unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			})
		}
	}
	if err != nil {
		return &fs.PathError{Op: "open dir", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	if err := writeAtomicAt(dfd, dir, name, data, perm, d, prealloc, nil, nil, nil); err != nil {
		return targetErr(dir, name, err)
	}
	if d >= DurabilityFull {
		if err := unix.Fsync(dfd); err != nil {
			return targetErr(dir, name, &fs.PathError{Op: "fsync dir", Path: dir, Err: err})
		}
	}
	return nil
}

// fencedTempBuf holds a fenced temp name of a record name of up to 64
// bytes (a store's are 32) on the caller's stack (see fencedTempIn).
type fencedTempBuf [len(tempPrefix) + 64 + len(".locked")]byte

// fencedTempIn is fencedTemp built in buf, which the string shares: a save
// under the lock, which builds it on every call, allocates nothing for it.
// buf must not be written while the string is in use; should the string
// outlive the caller's frame, escape analysis moves buf to the heap (one
// allocation, as fencedTemp), so errors name a strings.Clone of it to keep
// buf on the stack. A longer record name is built on the heap.
func fencedTempIn(buf *fencedTempBuf, record string) string {
	b := append(append(append(buf[:0], tempPrefix...), record...), ".locked"...)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// tempName is the temp file name of an unfenced write of name: name with
// tempPrefix and random bits. A name that is already a temp file's (the
// store's write probe) keeps its one prefix, where its temp file was
// ".tmp-.tmp-probe-...", and its errors said so.
func tempName(name string) string {
	if !strings.HasPrefix(name, tempPrefix) {
		name = tempPrefix + name
	}
	return name + "-" + randHex(8)
}

// writeAtomicAt writes data to a temp file in dfd and renames it to name.
// With DurabilityFile and up it syncs the file first; the directory, which
// DurabilityFull syncs after the rename, is its callers' (syncPublished).
//
// A fenced write (fence non-nil) is one under the session's lock
// (Locked.Save, CompareAndSwap, Rekey); fence verifies that lock. Its temp
// file has one fixed name per record (fencedTemp), created exclusively,
// and only a writer that has just verified its lock removes a file found
// under that name. That keeps a late rename from a host that lost the lock
// from publishing its record over a newer one: on NFS a RENAME sent before
// a network cut can reach the server after the cut outlasted the lease and
// another host took the lock and saved. The RENAME names the temp file,
// and by then the later holder has removed that name or renamed its own
// file away under it: the late RENAME fails (ENOENT), or publishes the
// later holder's own file early. The second case shows up as this write's
// rename failing with ENOENT; the record then holds these bytes, and
// sameContent checks that before reporting success. A holder that lost its
// lock without knowing it finds the name taken, fails its verification
// and leaves the name alone. See docs/design.md, "The lost-lock window".
//
// Its errors name the files by their names in dir: its callers, the
// entry points above, put the path of the file being replaced in front.
func writeAtomicAt(dfd int, dir, name string, data []byte, perm fs.FileMode, d Durability, prealloc bool, check, fence func() error, times *[2]time.Time) error {
	// No O_EXCL for an unfenced write: an exclusive create costs NFSv4.1 a
	// second round trip (SETATTR after the OPEN, measured), and the 64
	// random bits of the name make a collision with another writer as
	// unlikely as guessing a key. O_NOFOLLOW refuses a symlink planted at
	// the temp name; O_TRUNC would only matter in that impossible
	// collision. A fenced write pays the round trip: its name is shared by
	// every holder of the lock in turn, and it must never write into a file
	// another holder (one that lost the lock and does not know yet) still
	// writes to, as opening that file with O_TRUNC would.
	fenced := fence != nil
	// The random name only when it is used: a save under the lock is
	// fenced, and the random bytes and their hex cost it about as much
	// as the rest of the name building.
	var (
		tmpName string
		flags   int
		tmpBuf  fencedTempBuf
	)
	if fenced {
		tmpName = fencedTempIn(&tmpBuf, name)
		flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	} else {
		tmpName = tempName(name)
		flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	create := func() (int, error) {
		return retryEINTR(func() (int, error) { return openatName(dfd, tmpName, flags, uint32(perm.Perm())) })
	}
	fd, err := create()
	if fenced && err == unix.EEXIST {
		// Left by an earlier holder of the lock (one that crashed, or one
		// cut off whose rename may still come: removing the name fences
		// it off), or being written by the current holder if this one lost
		// the lock without knowing: the verification tells which.
		if err = fence(); err != nil {
			return err
		}
		if err = unlinkNoEnt(dfd, tmpName); err == nil {
			fd, err = create()
		}
	}
	if err != nil {
		return &fs.PathError{Op: "create temp", Path: strings.Clone(tmpName), Err: nospace.Explain(dfd, noFollowErr(err))}
	}
	ok := false
	defer func() {
		if ok {
			return
		}
		// A fenced write removes its temp file only under a lock it has
		// just verified: otherwise the name may be the next holder's by
		// now, and the file is left to the next holder or the sweep.
		if !fenced || fence() == nil {
			unix.Unlinkat(dfd, tmpName, 0)
		}
	}()
	if prealloc && len(data) > 0 {
		preallocate(fd, int64(len(data)))
	}
	for off := 0; off < len(data); {
		n, err := retryEINTR(func() (int, error) { return unix.Write(fd, data[off:]) })
		if err != nil {
			unix.Close(fd)
			return &fs.PathError{Op: "write", Path: strings.Clone(tmpName), Err: err}
		}
		off += n
	}
	if d >= DurabilityFile {
		// The data must be on disk before the rename makes it visible under
		// the real name; otherwise a crash can leave the name pointing at an
		// empty or partial file (ext4's auto_da_alloc only narrows the window,
		// and only for renames over an existing file).
		if err := syncData(fd); err != nil {
			unix.Close(fd)
			return &fs.PathError{Op: "fsync", Path: strings.Clone(tmpName), Err: err}
		}
	}
	// Close errors matter: NFS reports deferred write errors (ENOSPC, EDQUOT,
	// EIO) at close, and the file must not be published then.
	if err := unix.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: strings.Clone(tmpName), Err: err}
	}
	if times != nil {
		// After the close, which on NFS flushes the writes that would
		// set the mtime again on the server; before the rename, so that a
		// write by someone else after it keeps its own times.
		ts := []unix.Timespec{unix.NsecToTimespec(times[0].UnixNano()), unix.NsecToTimespec(times[1].UnixNano())}
		if _, err := retryEINTR(func() (int, error) { return 0, unix.UtimesNanoAt(dfd, tmpName, ts, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
			return &fs.PathError{Op: "utimes", Path: strings.Clone(tmpName), Err: err}
		}
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	if err := renameatName(dfd, tmpName, dfd, name); err != nil {
		if !(fenced && err == unix.ENOENT && sameContent(dfd, name, data)) {
			if fenced && err == unix.ENOENT {
				err = errTempTaken
				// Most often the next holder removed the name: this
				// writer's lock was lost after its check (a process
				// stopped past its lease, a host cut off past its NFS
				// lease). Say so, as the checks do, so that callers
				// match ErrLockLost; nothing was published.
				if ferr := fence(); ferr != nil {
					err = fmt.Errorf("%w: %w", errTempTaken, ferr)
				}
			}
			return &os.LinkError{Op: "rename", Old: strings.Clone(tmpName), New: name, Err: err}
		}
		// Renamed early by a late rename of an earlier holder: published.
	}
	ok = true
	return nil
}

// unlinkNoEnt removes dfd/name; a name already gone is no error.
func unlinkNoEnt(dfd int, name string) error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.Unlinkat(dfd, name, 0) })
	if err == unix.ENOENT {
		return nil
	}
	return err
}

// sameContent reports whether dfd/name, a regular file, holds exactly data.
func sameContent(dfd int, name string, data []byte) bool {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	buf := make([]byte, len(data)+1)
	n := 0
	for n < len(buf) {
		m, err := retryEINTR(func() (int, error) { return unix.Read(fd, buf[n:]) })
		if err != nil {
			return false
		}
		if m == 0 {
			break
		}
		n += m
	}
	return bytes.Equal(buf[:n], data)
}

// syncDir fsyncs a directory, making renames in it durable. It is for the
// store's root (the marker); see rootDir.writeAtomic for the rest.
func syncDir(dir string) error {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return &fs.PathError{Op: "open dir", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return &fs.PathError{Op: "fsync dir", Path: dir, Err: err}
	}
	return nil
}

// lstat returns the attributes of the file at p, not following a symlink
// at any component.
func (r *rootDir) lstat(p string) (fileStat, error) {
	if r.testFault != nil {
		if err := r.testFault(p); err != nil {
			return fileStat{}, err
		}
	}
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return fileStat{}, err
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	_, err = retryEINTR(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return fileStat{}, err
	}
	return statOf(&st), nil
}

// unlink removes the file at p (never a directory).
func (r *rootDir) unlink(p string) error {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	_, err = retryEINTR(func() (int, error) { return 0, unix.Unlinkat(dfd, name, 0) })
	return err
}

// rename renames a file within one directory, replacing newpath.
func (r *rootDir) rename(oldpath, newpath string) error {
	if filepath.Dir(oldpath) != filepath.Dir(newpath) {
		return errors.New("rename across directories") // a bug, not an input
	}
	dfd, name, err := r.parent(oldpath, false)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return unix.Renameat(dfd, name, dfd, filepath.Base(newpath))
}

// link makes newpath, in the same directory, a second name of oldpath; it
// fails if newpath exists.
func (r *rootDir) link(oldpath, newpath string) error {
	if filepath.Dir(oldpath) != filepath.Dir(newpath) {
		return errors.New("link across directories") // a bug, not an input
	}
	dfd, name, err := r.parent(oldpath, false)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return unix.Linkat(dfd, name, dfd, filepath.Base(newpath), 0)
}

// dirRef is an open directory and a name in it, for several operations on
// one name at the cost of one resolution.
type dirRef struct {
	fd   int
	name string
}

// dirOf opens the directory holding p (below the root) without following
// symlinks.
func (r *rootDir) dirOf(p string) (dirRef, error) {
	fd, name, err := r.parent(p, false)
	return dirRef{fd, name}, err
}

func (d dirRef) close() { unix.Close(d.fd) }

// lstat returns the name's attributes, not following a symlink.
func (d dirRef) lstat() (fileStat, error) {
	var st unix.Stat_t
	_, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(d.fd, d.name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return fileStat{}, err
	}
	return statOf(&st), nil
}

// touch sets the name's access and modification times to t, or to the
// current time when t is nil: then the NFS client sends
// SET_TO_SERVER_TIME, so every mtime in the store comes from the server's
// clock, whichever host wrote it.
func (d dirRef) touch(t *time.Time) error {
	var ts []unix.Timespec
	if t != nil {
		ts = []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	}
	_, err := retryEINTR(func() (int, error) { return 0, unix.UtimesNanoAt(d.fd, d.name, ts, unix.AT_SYMLINK_NOFOLLOW) })
	return err
}

// setTimes sets a file's access and modification times.
func (r *rootDir) setTimes(p string, atime, mtime time.Time) error {
	return r.utimes(p, []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())})
}

func (r *rootDir) utimes(p string, ts []unix.Timespec) error {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	_, err = retryEINTR(func() (int, error) { return 0, unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW) })
	return err
}
