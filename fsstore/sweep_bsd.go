//go:build darwin || freebsd

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
// symlink followed). These systems have no Linux AT_STATX_FORCE_SYNC: it
// is an fstatat, exact on local filesystems; on an NFS client it may come
// from the attribute cache.
func (r *rootDir) statFresh(p string) (fileID, error) {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	_, err = retryEINTR(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return fileID{}, &fs.PathError{Op: "fstatat", Path: p, Err: err}
	}
	return fileID{ino: uint64(st.Ino), dev: uint64(st.Dev), nlink: uint32(st.Nlink)}, nil
}
