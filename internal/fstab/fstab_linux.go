package fstab

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// IsMountPoint reports whether a file system is mounted at point, from
// the mount table: a bind mount (of the share elsewhere, or of a
// directory of the root file system in a container) is on its parent's
// device, and devMountPoint took it for nothing mounted, refusing every
// run below it. A directory bound onto itself is not (see mountedIn).
// Without /proc it falls back to devMountPoint.
func IsMountPoint(point string) bool {
	resolved, err := filepath.EvalSymlinks(point)
	if err != nil {
		return devMountPoint(point)
	}
	t, err := mountinfo.Table()
	if err != nil {
		return devMountPoint(point)
	}
	return mountedIn(t, resolved)
}

// mountedIn reports whether the mount table t has a file system mounted
// at point: the mount on top there (mountedAt), unless it is the very
// directory the mount below it shows at point, bound onto itself (systemd
// binds the paths of ReadWritePaths= and BindPaths= so in a service's own
// mount namespace; mount --bind DIR DIR does too), which is then judged
// instead. Such a mount changes no file system: below an fstab mount
// point that nothing is mounted on, the directory is on the disk below it
// all the same, and taken for a mount, a hardened service whose share
// failed to mount made its store there. A mount whose parent is not in
// the table is taken as it is.
func mountedIn(t []mountinfo.Mount, point string) bool {
	m, ok := holding(t, point)
	for ok && mountedAt(m, point) {
		under, found := mountByID(t, m.Parent)
		if !found || under.ID == m.ID || !boundOntoItself(m, under, point) {
			return true
		}
		m = under
	}
	return false
}

// holding returns the mount of t that holds p: the longest mount
// point above or at it, the later entry of two on one point (the one on
// top).
func holding(t []mountinfo.Mount, p string) (mountinfo.Mount, bool) {
	var best mountinfo.Mount
	found := false
	for _, m := range t {
		in := m.Point == "/" || p == m.Point || strings.HasPrefix(p, m.Point+"/")
		if in && (!found || len(m.Point) >= len(best.Point)) {
			best, found = m, true
		}
	}
	return best, found
}

// mountByID returns the mount of t with the ID id.
func mountByID(t []mountinfo.Mount, id string) (mountinfo.Mount, bool) {
	for _, m := range t {
		if m.ID == id {
			return m, true
		}
	}
	return mountinfo.Mount{}, false
}

// boundOntoItself reports whether m, mounted at point on the mount under,
// shows the directory under shows there: the same file system (device)
// and the same directory of it.
func boundOntoItself(m, under mountinfo.Mount, point string) bool {
	rel := strings.TrimPrefix(point, under.Point)
	if under.Point == "/" {
		rel = point
	}
	return m.Dev == under.Dev && m.Root == path.Join(under.Root, rel)
}

// mountedAt reports whether m, the mount holding point, is a file system
// mounted at point. An automount's autofs (x-systemd.automount) alone is
// not: the caller has already looked into its directory, which mounts the
// share on top of it, so an autofs still on top is a mount that failed.
func mountedAt(m mountinfo.Mount, point string) bool {
	return m.Point == point && m.FSType != "autofs"
}
