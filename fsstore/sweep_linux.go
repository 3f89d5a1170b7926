package fsstore

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// fileID identifies a file and tells whether it still has a name.
type fileID struct {
	ino, dev uint64
	nlink    uint32
}

// statFresh returns the identity of the file at p (below the root, no
// symlink followed) from the file server, not from this client's
// attribute cache: statx with AT_STATX_FORCE_SYNC sends a GETATTR on NFS,
// by the cached file handle: call Store.revalidateName first for the
// name's current file. nlink 0 is a file that is open somewhere but has no
// name left.
func (r *rootDir) statFresh(p string) (fileID, error) {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(dfd)
	var stx unix.Statx_t
	_, err = retryEINTR(func() (int, error) {
		return 0, unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_FORCE_SYNC,
			unix.STATX_INO|unix.STATX_NLINK, &stx)
	})
	if err != nil {
		return fileID{}, &fs.PathError{Op: "statx", Path: p, Err: err}
	}
	return fileID{ino: stx.Ino, dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), nlink: stx.Nlink}, nil
}
