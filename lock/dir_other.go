//go:build !unix

package lock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// lockDir is the lock directory. Without directory descriptors and *at
// calls here (Windows: only the lease strategy runs), files are opened by
// path; the lock directory is checked not to be a symlink when the table
// opens it, not at every open.
type lockDir struct {
	path string
	// removeRefused, in tests, is called each time a remove is refused
	// for the moment and about to be tried again (see removeFile).
	removeRefused func(path string)
}

func openLockDir(path string) (*lockDir, error) {
	if err := nulPath("lock directory", path); err != nil {
		return nil, err
	}
	// Anchored: every file of the directory is reached by path later.
	path = anchor(path)
	if err := dirDeviceError(path); err != nil {
		return nil, err
	}
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open lock directory", Path: path, Err: errDirSymlink}
	}
	if !st.IsDir() {
		// A file there passed, and a LeaseDir's every look then found
		// nothing ("path not found" for a lease in it), as if there
		// were no lease to judge.
		return nil, &fs.PathError{Op: "open lock directory", Path: path, Err: errNotDir}
	}
	return &lockDir{path: path}, nil
}

// borrowLockDir is the lock directory path; fd is unused here.
func borrowLockDir(path string, _ int) *lockDir { return &lockDir{path: anchor(path)} }

var errDirSymlink = fs.ErrInvalid

// errNotDir is the refusal of a lock directory that is a file (Windows'
// ENOTDIR reads "The system cannot find the path specified").
var errNotDir = errors.New("not a directory")

func (d *lockDir) use() (int, error) { return 0, nil }
func (d *lockDir) done()             {}
func (d *lockDir) close()            {}

func (d *lockDir) join(name string) string { return filepath.Join(d.path, name) }

func (d *lockDir) open(name string, flags int, perm fs.FileMode) (*os.File, error) {
	f, err := openFile(d.join(name), flags, perm)
	if err != nil {
		return nil, permissionHint(d.join(name), err)
	}
	return f, nil
}

// list opens the directory for listing, by path (checked not to be a
// symlink when the table opened it).
func (d *lockDir) list() (*os.File, error) { return os.Open(d.path) }

func (d *lockDir) remove(name string) error { return removeFile(d.join(name), d.removeRefused, nil) }

// removeUnless is remove that gives up trying again once over reports
// true (see removeFile).
func (d *lockDir) removeUnless(name string, over func() bool) error {
	return removeFile(d.join(name), d.removeRefused, over)
}

// rename replaces newName with oldName (see renameOver).
func (d *lockDir) rename(oldName, newName string) error {
	return renameOver(d.path, oldName, newName)
}

// link makes newName a hard link to oldName, failing if newName exists.
func (d *lockDir) link(oldName, newName string) error {
	return os.Link(d.join(oldName), d.join(newName))
}

// linkUnsupported: here only the lease strategy runs (see NewTable), so a
// filesystem that refuses the link for any other reason than an existing
// file records nothing rather than failing.
func linkUnsupported(err error) bool { return !errors.Is(err, fs.ErrExist) }

// ident returns the file's identity and times (see identify).
func (d *lockDir) ident(name string) (ino uint64, ctime, mtime int64, err error) {
	return identify(d.join(name))
}

// mode returns the type and permission bits of name, not following a
// symlink.
func (d *lockDir) mode(name string) (fs.FileMode, error) {
	fi, err := os.Lstat(d.join(name))
	if err != nil {
		return 0, err
	}
	return fi.Mode(), nil
}

// gone: here every file is reached by the directory's path, so a lock
// is never taken in a directory that was moved away or removed; a lease
// file in one is met as removed (see leaseHeld.judgeRead).
func (d *lockDir) gone() error { return nil }

// due: see gone.
func (d *lockDir) due(time.Duration) bool { return false }

// setNFS: see gone.
func (d *lockDir) setNFS(bool) {}

// onNFS: no check to put off here.
func (d *lockDir) onNFS() bool { return false }

// check: see gone.
func (d *lockDir) check() error { return nil }

// isStale: no NFS client here reports stale handles apart.
func isStale(error) bool { return false }
