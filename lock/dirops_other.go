//go:build !unix && !windows

package lock

import (
	"os"
	"path/filepath"
)

// renameOver renames oldName over newName in dir.
func renameOver(dir, oldName, newName string) error {
	return os.Rename(filepath.Join(dir, oldName), filepath.Join(dir, newName))
}

// identify returns 0 for the inode number, which os.FileInfo does not give
// here, and the mtime for the ctime.
func identify(path string) (ino uint64, ctime, mtime int64, err error) {
	st, err := os.Lstat(path)
	if err != nil {
		return 0, 0, 0, err
	}
	return 0, st.ModTime().UnixNano(), st.ModTime().UnixNano(), nil
}

// renameRefusedOpen: a rename here replaces a file open elsewhere.
func renameRefusedOpen(error) bool { return false }
