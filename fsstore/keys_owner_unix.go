//go:build unix

package fsstore

import (
	"io/fs"
	"syscall"
)

// ownedByRoot reports whether root owns the file fi describes.
func ownedByRoot(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0
}
