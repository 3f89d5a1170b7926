package fstab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// TestIsMountPointBind: a directory of the root file system bind-mounted
// on another (how a share mounted elsewhere is often exposed, and how a
// container gets its volume) is on its parent's device; it is a mount
// point all the same, or every sessgc run below it is refused as an unmounted
// share.
func TestIsMountPointBind(t *testing.T) {
	dir := t.TempDir()
	src, point := filepath.Join(dir, "src"), filepath.Join(dir, "point")
	mkdir(t, src)
	mkdir(t, point)
	if err := unix.Mount(src, point, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here (needs root and mount rights): %v", err)
	}
	defer func() {
		if err := unix.Unmount(point, 0); err != nil {
			t.Error(err)
		}
	}()
	if !IsMountPoint(point) {
		t.Errorf("%s, a bind mount: not a mount point", point)
	}
	if IsMountPoint(src) {
		t.Errorf("%s: a mount point", src)
	}
	if err := os.WriteFile(filepath.Join(point, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// An fstab listing dir, which nothing is mounted on: the bind mount
	// below it (a container's volume) holds a store's directory, and
	// src, on the disk below dir, does not.
	tab := filepath.Join(dir, "fstab")
	if err := os.WriteFile(tab, []byte("/dev/sdb1 "+dir+" xfs defaults,nofail 0 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Hosts{Fstab: tab, Mounted: IsMountPoint}
	if why := h.UnmountedShare(filepath.Join(point, "sessions")); why != "" {
		t.Errorf("below the bind mount %s: %s", point, why)
	}
	if why := h.UnmountedShare(filepath.Join(src, "sessions")); why == "" {
		t.Errorf("%s, below %s, which fstab mounts and nothing is mounted on: not refused", src, dir)
	}
}

// TestMountedAt: the mount table's entry on the point is a mount, unless
// it is an automount's autofs with nothing mounted on top: the share
// failed to mount when the directory was looked into.
func TestMountedAt(t *testing.T) {
	for _, tc := range []struct {
		line, point string
		want        bool
	}{
		{"40 25 0:35 / /mnt/efs rw,relatime shared:21 - nfs4 fs-1.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1", "/mnt/efs", true},
		{"38 25 0:33 / /mnt/efs rw,relatime shared:20 - autofs systemd-1 rw,fd=46,pgrp=1,timeout=0,minproto=5,maxproto=5,direct", "/mnt/efs", false},
		{"41 25 8:1 /srv/sessions /mnt/efs rw,relatime shared:1 - ext4 /dev/sda1 rw", "/mnt/efs", true},
		{"25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw", "/mnt/efs", false},
	} {
		m, ok := mountinfo.Parse(tc.line)
		if !ok {
			t.Fatalf("cannot parse %q", tc.line)
		}
		if got := mountedAt(m, tc.point); got != tc.want {
			t.Errorf("%s on %s: mounted at %s %v, want %v", m.FSType, m.Point, tc.point, got, tc.want)
		}
	}
}
