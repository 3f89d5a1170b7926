//go:build darwin || freebsd

package fsstore

import (
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// openatName is unix.Openat (on Linux it passes the path from the stack).
func openatName(dirfd int, path string, flags int, mode uint32) (int, error) {
	return unix.Openat(dirfd, path, flags, mode)
}

// renameatName is unix.Renameat (on Linux it passes the paths from the
// stack).
func renameatName(olddirfd int, oldpath string, newdirfd int, newpath string) error {
	return unix.Renameat(olddirfd, oldpath, newdirfd, newpath)
}

// unlinkatName is unix.Unlinkat (on Linux it passes the name from the
// stack).
func unlinkatName(dirfd int, name string) error { return unix.Unlinkat(dirfd, name, 0) }

// preallocate does nothing: it is an ext4 optimisation.
func preallocate(fd int, n int64) {}

// isExt4 is false: ext4 is a Linux filesystem.
func isExt4(dir string) bool { return false }

// onNFS reports whether dir is on an NFS mount.
func onNFS(dir string) bool {
	var sfs unix.Statfs_t
	if unix.Statfs(dir, &sfs) != nil {
		return false
	}
	return unix.ByteSliceToString(sfs.Fstypename[:]) == "nfs"
}

// forceGetattr asks for dir's attributes. These systems have no flag that
// forces the NFS client past its attribute cache, so a change made by
// another host may show only once the cache expires (acdirmin); the
// read-after-write guarantee across NFS hosts is Linux's (docs/design.md).
func forceGetattr(dir string, _ bool) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: dir, Err: err}
	}
	return nil
}

// dirLookupFlags opens a directory to resolve names in it (there is no
// O_PATH here).
const dirLookupFlags = unix.O_RDONLY

// openBeneath opens rel below root without following symlinks, one
// directory at a time.
func (r *rootDir) openBeneath(root int, rel string, flags int, mode uint32) (int, error) {
	return walkBeneath(root, rel, flags, mode)
}

// pathOnlyFlags is 0: there is no O_PATH here, so openPath opens nothing.
const pathOnlyFlags = 0

// touchFD is not available here; the caller touches by name.
func touchFD(fd int, ts []unix.Timespec) error { return errNoFDTouch }

// touchPathFD is not available here; the caller touches by name.
func touchPathFD(fd int, ts []unix.Timespec) error { return errNoFDTouch }

// statFreshAt returns name's attributes in dfd (no symlink followed). No
// flag here forces the NFS client past its attribute cache (see
// forceGetattr).
func statFreshAt(dfd int, name string, _ bool) (fileStat, error) {
	return fstatatNoFollow(dfd, name)
}

// statxRefused is false: there is no statx here to refuse, the stats are
// fstatat calls already.
func statxRefused() bool { return false }

// openat2Refused is true: there is no openat2 here, openBeneath resolves
// one directory at a time.
func openat2Refused() bool { return true }

// noatimeFlag is 0: there is no O_NOATIME here.
const noatimeFlag = 0

// changedAt is when the file fi describes last changed: the later of its
// mtime and its ctime, which a tool that sets the mtime back after its
// write (cp -p, rsync -t) also moves.
func changedAt(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(st.Ctimespec.Unix()); c.After(t) {
			t = c
		}
	}
	return t
}
