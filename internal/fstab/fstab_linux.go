package fstab

import (
	"path/filepath"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// IsMountPoint reports whether a file system is mounted at point, from
// the mount table: a bind mount (of the share elsewhere, or of a
// directory of the root file system in a container) is on its parent's
// device, and devMountPoint took it for nothing mounted, refusing every
// run below it. Without /proc it falls back to devMountPoint.
func IsMountPoint(point string) bool {
	resolved, err := filepath.EvalSymlinks(point)
	if err != nil {
		return devMountPoint(point)
	}
	m, err := mountinfo.Lookup(resolved)
	if err != nil {
		return devMountPoint(point)
	}
	return mountedAt(m, resolved)
}

// mountedAt reports whether m, the mount holding point, is a file system
// mounted at point. An automount's autofs (x-systemd.automount) alone is
// not: the caller has already looked into its directory, which mounts the
// share on top of it, so an autofs still on top is a mount that failed.
func mountedAt(m mountinfo.Mount, point string) bool {
	return m.Point == point && m.FSType != "autofs"
}
