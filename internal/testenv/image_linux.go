//go:build linux

package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// MountImage makes a file system in an image file of size bytes with the
// command mkfs (a program and its options, the image's path appended) and
// mounts it on a fresh directory through a loop device, with the mount
// options opts ("" for none), for tests of a real file system of a kind
// the machine's own disks are not (ext4 without d_type, with 1-second
// timestamps, a tiny one that fills up). The mount, and with it the loop
// device (mount -o loop frees it at the unmount), goes at the end of t,
// failed or not. It skips t when not root, when mkfs is not installed, or
// when the kernel or the container does not let it mount the image;
// SESSFS_REQUIRE_ROOT=1 turns the skip into a failure.
func MountImage(t testing.TB, size int64, fstype, opts string, mkfs ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, Root, "needs root to mount a loop device")
	}
	prog, err := exec.LookPath(mkfs[0])
	if err != nil {
		Skip(t, Root, "%s not installed (for ext4: apt-get install e2fsprogs)", mkfs[0])
	}
	work := t.TempDir()
	img, dir := filepath.Join(work, "fs.img"), filepath.Join(work, "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(prog, append(mkfs[1:], img)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(mkfs, " "), err, out)
	}
	o := "loop"
	if opts != "" {
		o += "," + opts
	}
	if out, err := exec.Command("mount", "-t", fstype, "-o", o, img, dir).CombinedOutput(); err != nil {
		Skip(t, Root, "cannot mount a %s image through a loop device (no loop devices or CAP_SYS_ADMIN in this container?): %v: %s", fstype, err, out)
	}
	// Registered after t.TempDir, so it runs before the image is removed.
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// unmount unmounts dir, detaching it if something still holds it open (a
// test that failed before closing its store), so that its loop device is
// freed once the last file on it closes.
func unmount(t testing.TB, dir string) {
	err := syscall.Unmount(dir, 0)
	if errors.Is(err, syscall.EBUSY) {
		err = syscall.Unmount(dir, syscall.MNT_DETACH)
	}
	if err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
}
