package fsstore

import (
	"path/filepath"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// keysMountWarning is logged when the keys file is a mount point of its
// own (keysFileMountPoint).
const keysMountWarning = "keys file is a mount point of its own (one file bind-mounted into place: a Kubernetes Secret or ConfigMap mounted with subPath, a Docker or Compose bind mount of a file, a Compose or Swarm secret): a file renamed over its source, as atomic writers and Kubernetes Secret updates replace it, never reaches this path, so a rotated key set is applied here only at a restart; mount the directory that holds it instead (Kubernetes: without subPath), or restart the process at each step of a rotation"

// keysFileMountPoint reports whether the keys file at abs resolves to a
// mount point: one file bind-mounted into place. Such a mount holds the
// inode it was made with, so a new file renamed over its source (the
// atomic replace the docs ask for; the kubelet's update of a Secret, whose
// subPath mounts it never updates) never reaches the path, and neither a
// notification nor a timed read can see it; only a write in place into
// the source inode shows, at the next timed read. Where mount points
// cannot be listed (not Linux), it reports false.
func keysFileMountPoint(abs string) bool {
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return false
	}
	m, err := mountinfo.Lookup(real)
	return err == nil && m.Point == real
}
