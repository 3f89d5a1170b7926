//go:build unix

package fsstore

import (
	"crypto/rand"
	"encoding/hex"
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

func retryEINTR[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != unix.EINTR {
			return v, err
		}
	}
}

// readFile reads a whole regular file that must not be a symlink, refusing
// files larger than limit. It returns the bytes and the file's attributes,
// taken from the open descriptor: under NFS close-to-open consistency the
// open revalidated them.
func readFile(path string, limit int) ([]byte, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, st, err
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, st, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, st, errNotRegular
	}
	if st.Size > int64(limit) {
		return nil, st, errTooBig
	}
	buf := make([]byte, st.Size)
	n := 0
	for n < len(buf) {
		m, err := retryEINTR(func() (int, error) { return unix.Read(fd, buf[n:]) })
		if err != nil {
			return nil, st, err
		}
		if m == 0 {
			break // shorter than fstat said: the decoder reports truncation
		}
		n += m
	}
	return buf[:n], st, nil
}

var (
	errNotRegular = errors.New("not a regular file")
	errTooBig     = errors.New("file larger than the size limit")
)

// tempPrefix starts the name of every temp file. Sweeps recognise stale temp
// files by it; a dot keeps them out of casual listings.
const tempPrefix = ".tmp-"

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeAtomic replaces dir/name with data: write a temp file in the same
// directory, optionally fsync it, close it, rename it over the target, and
// optionally fsync the directory. Readers see the old file or the new one,
// never a mix: rename(2) swaps the directory entry atomically, on NFS too
// (one RENAME operation on the server). The temp file is removed on every
// error, so a failed save leaves the previous session untouched.
//
// With prealloc the temp file's blocks are allocated with fallocate(2)
// before the write (see Store.prealloc for when that pays).
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
		return &fs.PathError{Op: "create temp", Path: tmp, Err: err}
	}
	ok := false
	defer func() {
		if !ok {
			unix.Unlink(tmp)
		}
	}()
	if prealloc && len(data) > 0 {
		// ext4's auto_da_alloc makes rename(2) over an existing file start
		// writeback of the new file's delayed-allocation blocks: ~50 µs of
		// a ~90 µs DurabilityNone save, measured (docs/benchmarks.md).
		// Blocks allocated up front are not delayed, so the rename skips
		// it. Failure (EOPNOTSUPP, ENOSPC) is ignored: the write reports
		// a real lack of space, and the save then works as without it.
		unix.Fallocate(fd, 0, 0, int64(len(data)))
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
		// and only for renames over an existing file). fdatasync suffices: it
		// flushes the data and the size, and nothing else about the temp file
		// matters.
		if err := unix.Fdatasync(fd); err != nil {
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
func lstat(path string) (unix.Stat_t, error) {
	var st unix.Stat_t
	_, err := retryEINTR(func() (int, error) { return 0, unix.Lstat(path, &st) })
	return st, err
}

// touchNow sets a file's times to the current time. On NFS the client sends
// SET_TO_SERVER_TIME, so every mtime in the store comes from the server's
// clock, whichever host wrote it.
func touchNow(path string) error {
	_, err := retryEINTR(func() (int, error) {
		// UTIME_NOW for both times (no explicit time) is what makes the
		// NFS client ask for the server's clock.
		now := []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
		return 0, unix.UtimesNanoAt(unix.AT_FDCWD, path, now, unix.AT_SYMLINK_NOFOLLOW)
	})
	return err
}

// setMtime sets a file's times to t (WithClock only).
func setMtime(path string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
