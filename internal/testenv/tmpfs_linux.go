//go:build linux

package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// MountTmpfs mounts a tmpfs of size (as mount's size=, "1m") on a fresh
// directory and unmounts it at the end of t, for tests of a full or
// read-only file system. It skips t when not root or when mounting is not
// allowed (a container without CAP_SYS_ADMIN); SESSFS_REQUIRE_ROOT=1 turns
// the skip into a failure.
func MountTmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, Root, "needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		Skip(t, Root, "cannot mount a tmpfs on %s: %v", dir, err)
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// RemountTmpfs remounts the tmpfs at dir read-only (ro) or read-write.
func RemountTmpfs(t testing.TB, dir string, ro bool) {
	t.Helper()
	var flags uintptr = syscall.MS_REMOUNT
	if ro {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, ""); err != nil {
		t.Fatalf("remount %s (read-only %v): %v", dir, ro, err)
	}
}

// FillUp fills the file system of dir with a file until a write fails with
// ENOSPC, and returns a function that removes the file again.
func FillUp(t testing.TB, dir string) (free func()) {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", dir, err)
	}
	return func() {
		if err := os.Remove(name); err != nil {
			t.Fatalf("freeing %s: %v", dir, err)
		}
	}
}
