//go:build linux || darwin || freebsd

package fsstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Raw syscalls instead of os.File on the hot paths: os.Open registers every
// descriptor with the runtime poller (an fcntl and a failing epoll_ctl on a
// regular file, then the undo), which roughly doubles the cost of a small
// read on local disk. Regular files never block in the poller's sense, so we
// lose nothing.
//
// This file holds what linux, darwin and freebsd share; fileio_linux.go,
// fileio_darwin.go and fileio_freebsd.go hold what they do not.

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
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		fst.typ = fs.ModeDir
	case unix.S_IFLNK:
		fst.typ = fs.ModeSymlink
	case unix.S_IFIFO:
		fst.typ = fs.ModeNamedPipe
	case unix.S_IFSOCK:
		fst.typ = fs.ModeSocket
	default:
		fst.typ = fs.ModeDevice
	}
	return fst
}

// rfile is a file open for reading.
type rfile struct{ fd int }

// openRead opens a regular file for reading. It refuses a symlink
// (O_NOFOLLOW) and anything but a regular file (errNotRegular): the open is
// non-blocking, so a FIFO or a device planted at a record's name cannot
// hang the caller (while it holds the session's lock), and the type is
// checked on the open descriptor, so nothing swapped in between a check and
// the open gets through. The attributes come from that descriptor: under
// NFS close-to-open consistency the open revalidated them.
func openRead(path string) (rfile, fileStat, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
	if err == unix.ENXIO || err == unix.EOPNOTSUPP {
		// A socket (or a device without a driver): only non-regular
		// files fail so.
		return rfile{}, fileStat{}, errNotRegular
	}
	if err != nil {
		return rfile{}, fileStat{}, noFollowErr(err)
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

// noFollowErr gives O_NOFOLLOW's refusal one spelling: FreeBSD reports a
// symlink as EMLINK, the others as ELOOP.
func noFollowErr(err error) error {
	if err == unix.EMLINK {
		return unix.ELOOP
	}
	return err
}

// isSymlinkErr reports O_NOFOLLOW refusing a symlink.
func isSymlinkErr(err error) bool { return errors.Is(err, unix.ELOOP) }

// isStale reports NFS's ESTALE: the file behind a looked-up name is gone.
func isStale(err error) bool { return errors.Is(err, unix.ESTALE) }

// writeAtomic replaces dir/name with data: write a temp file in the same
// directory, optionally fsync it, close it, rename it over the target, and
// optionally fsync the directory. Readers see the old file or the new one,
// never a mix: rename(2) swaps the directory entry atomically, on NFS too
// (one RENAME operation on the server). The temp file is removed on every
// error, so a failed save leaves the previous session untouched.
//
// With prealloc the temp file's blocks are allocated up front (Linux only,
// see Store.prealloc for when that pays).
func writeAtomic(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool) error {
	target := filepath.Join(dir, name)
	tmp := filepath.Join(dir, tempPrefix+name+"-"+randHex(8))
	// No O_EXCL: an exclusive create costs NFSv4.1 a second round trip
	// (SETATTR after the OPEN, measured), and the 64 random bits of the name
	// make a collision with another writer as unlikely as guessing a key.
	// O_NOFOLLOW refuses a symlink planted at the temp name; O_TRUNC would
	// only matter in that impossible collision.
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC | unix.O_NOFOLLOW | unix.O_CLOEXEC
	open := func() (int, error) { return unix.Open(tmp, flags, uint32(perm.Perm())) }
	fd, err := retryEINTR(open)
	if err == unix.ENOENT {
		// Shard directories are created on first use, not up front: that
		// keeps Save at one OPEN on the hot path and a new store small.
		if err = os.MkdirAll(dir, dirPerm); err == nil {
			fd, err = retryEINTR(open)
		}
	}
	if err != nil {
		return &fs.PathError{Op: "create temp", Path: tmp, Err: noFollowErr(err)}
	}
	ok := false
	defer func() {
		if !ok {
			unix.Unlink(tmp)
		}
	}()
	if prealloc && len(data) > 0 {
		preallocate(fd, int64(len(data)))
	}
	for off := 0; off < len(data); {
		n, err := retryEINTR(func() (int, error) { return unix.Write(fd, data[off:]) })
		if err != nil {
			unix.Close(fd)
			return &fs.PathError{Op: "write", Path: tmp, Err: err}
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
			return &fs.PathError{Op: "fsync", Path: tmp, Err: err}
		}
	}
	// Close errors matter: NFS reports deferred write errors (ENOSPC, EDQUOT,
	// EIO) at close, and the file must not be published then.
	if err := unix.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: tmp, Err: err}
	}
	if err := unix.Rename(tmp, target); err != nil {
		return &fs.PathError{Op: "rename", Path: target, Err: err}
	}
	ok = true
	if d >= DurabilityFull {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs a directory, making renames in it durable.
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

// lstat returns a file's attributes without following a symlink.
func lstat(path string) (fileStat, error) {
	var st unix.Stat_t
	_, err := retryEINTR(func() (int, error) { return 0, unix.Lstat(path, &st) })
	if err != nil {
		return fileStat{}, err
	}
	return statOf(&st), nil
}

// unlink removes a file (never a directory).
func unlink(path string) error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.Unlink(path) })
	return err
}

// rename renames a file, replacing newpath.
func rename(oldpath, newpath string) error { return unix.Rename(oldpath, newpath) }

// link makes newpath a second name of oldpath; it fails if newpath exists.
func link(oldpath, newpath string) error { return unix.Link(oldpath, newpath) }

// touchNow sets a file's times to the current time. On NFS the client sends
// SET_TO_SERVER_TIME, so every mtime in the store comes from the server's
// clock, whichever host wrote it.
func touchNow(path string) error {
	_, err := retryEINTR(func() (int, error) {
		// No times (both "now") is what makes the NFS client ask for the
		// server's clock.
		return 0, unix.UtimesNanoAt(unix.AT_FDCWD, path, nil, unix.AT_SYMLINK_NOFOLLOW)
	})
	return err
}

// setMtime sets a file's times to t (WithClock only).
func setMtime(path string, t time.Time) error { return setTimes(path, t, t) }

// setTimes sets a file's access and modification times, not following a
// symlink.
func setTimes(path string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}
