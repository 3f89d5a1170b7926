package nfstest

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// RefreshDir makes the NFS client fetch dir's attributes from the server
// now, so that a change made by another host (a created, renamed or removed
// entry) invalidates this host's cached lookups in dir.
func RefreshDir(dir string) error {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, dir, unix.AT_STATX_FORCE_SYNC, unix.STATX_BASIC_STATS, &st)
	if err != nil {
		return &fs.PathError{Op: "statx", Path: dir, Err: err}
	}
	return nil
}
