//go:build linux || darwin || freebsd

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
// symlink followed), as fresh as the platform's statID can make it. nlink 0
// is a file that is open somewhere but has no name left.
func (r *rootDir) statFresh(p string) (fileID, error) {
	dfd, name, err := r.parent(p, false)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(dfd)
	id, op, err := statID(dfd, name)
	if err != nil {
		return fileID{}, &fs.PathError{Op: op, Path: p, Err: err}
	}
	return id, nil
}
