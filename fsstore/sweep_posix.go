//go:build linux || darwin || freebsd

package fsstore

import (
	"io/fs"
	"path/filepath"
	"time"

	"github.com/sessfs/sessfs/lock"
	"golang.org/x/sys/unix"
)

// fileID identifies a file and tells whether it still has a name.
type fileID struct {
	ino, dev uint64
	nlink    uint32
	mtime    time.Time
}

// statFresh returns the identity of the file at p (below the root, no
// symlink followed), as fresh as the platform's statID can make it. nlink 0
// is a file that is open somewhere but has no name left.
func (r *rootDir) statFresh(p string) (fileID, error) {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(dfd)
	id, op, err := statID(dfd, name, r.noStatx)
	if err != nil {
		return fileID{}, &fs.PathError{Op: op, Path: p, Err: err}
	}
	return id, nil
}

// shardDir is an open shard directory: the sweep resolves it once per
// batch of names instead of once per system call.
type shardDir struct {
	fd      int
	path    string
	noStatx bool // the root's (rootDir.noStatx)
}

func (d shardDir) close() { unix.Close(d.fd) }

// leaseDir is the lock directory d, for the lock package's look at its
// leases through d's descriptor (see lock.LeaseDirAt): close it before d.
func (d shardDir) leaseDir() *lock.LeaseDir { return lock.LeaseDirAt(d.path, d.fd) }

func (d shardDir) lstat(name string) (fileStat, error) {
	var st unix.Stat_t
	_, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return fileStat{}, &fs.PathError{Op: "stat", Path: filepath.Join(d.path, name), Err: err}
	}
	return statOf(&st), nil
}

func (d shardDir) rename(from, to string) error {
	_, err := retryEINTR(func() (int, error) { return 0, renameatName(d.fd, from, d.fd, to) })
	if err != nil {
		return &fs.PathError{Op: "rename", Path: filepath.Join(d.path, from), Err: err}
	}
	return nil
}

func (d shardDir) unlink(name string) error {
	_, err := retryEINTR(func() (int, error) { return 0, unlinkatName(d.fd, name) })
	if err != nil {
		return &fs.PathError{Op: "unlink", Path: filepath.Join(d.path, name), Err: err}
	}
	return nil
}

// touchNow sets path's access and modification times to the current time
// of its file system: on NFS the client sends SET_TO_SERVER_TIME, so the
// mtime is the server's clock. A symbolic link is followed, as the stat
// that reads the time back follows it: the store's directory may be given
// to Open as a link to it, and the link's own times, set, left the clock
// at the directory's last change, days behind on a store nothing was made
// in at its top since.
func touchNow(path string) error {
	_, err := retryEINTR(func() (int, error) {
		return 0, unix.UtimesNanoAt(unix.AT_FDCWD, path, nil, 0)
	})
	return err
}
