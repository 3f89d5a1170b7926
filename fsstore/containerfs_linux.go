package fsstore

import "golang.org/x/sys/unix"

// onOverlay reports whether dir is on overlayfs: in a container, its own
// writable layer, where a directory the image holds stays when the volume
// meant to be mounted over it is not.
func onOverlay(dir string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(dir, &sfs) == nil && sfs.Type == unix.OVERLAYFS_SUPER_MAGIC
}
