//go:build unix

package lock

import (
	"io/fs"
	"os"
	"syscall"
)

// fileOwner returns the owner and mode of the file at path, not following a
// symlink, for a hint; ok is false when they cannot be told.
func fileOwner(path string) (uid uint32, mode fs.FileMode, ok bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, fi.Mode(), true
}
