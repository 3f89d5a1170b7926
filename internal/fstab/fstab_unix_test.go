//go:build unix

package fstab

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsMountPoint: a directory of this file system is no mount point, a
// missing one neither; the root of a file system mounted below its
// parent's is.
func TestIsMountPoint(t *testing.T) {
	dir := t.TempDir()
	if IsMountPoint(dir) {
		t.Errorf("%s: a mount point", dir)
	}
	if IsMountPoint(filepath.Join(dir, "missing")) {
		t.Error("a missing directory: a mount point")
	}
	if _, err := os.Stat("/proc/self"); err == nil && !IsMountPoint("/proc") {
		t.Error("/proc: not a mount point")
	}
}
