//go:build unix

package fstab

import (
	"os"
	"path/filepath"
	"syscall"
)

// devMountPoint reports whether a file system is mounted at point: point
// is on another device than its parent directory. A point that cannot be
// looked at counts as mounted (nothing is said about it). A bind mount of
// a directory of the parent's own file system is on the same device, so
// Linux asks its mount table first (see fstab_linux.go).
func devMountPoint(point string) bool {
	fi, err := os.Stat(point)
	if os.IsNotExist(err) {
		return false // not even the mount point is there
	}
	pi, perr := os.Stat(filepath.Dir(point))
	if err != nil || perr != nil {
		return true
	}
	st, ok1 := fi.Sys().(*syscall.Stat_t)
	pt, ok2 := pi.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || st.Dev != pt.Dev
}
