package fstab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/testenv"
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
		testenv.Skip(t, testenv.Root, "cannot bind-mount here (needs root and mount rights): %v", err)
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

// TestSelfBindIsNoMount: a directory bound onto itself (systemd's
// ReadWritePaths= under ProtectSystem=, or BindPaths=, in the service's own
// mount namespace; mount --bind DIR DIR) is in the mount table, but it is
// the same directory of the same file system: below an fstab mount point
// that nothing is mounted on, it is on the disk below that point, as
// without it. Taken for a mount, a hardened service whose share failed to
// mount at boot made its store on the local disk, each host its own.
func TestSelfBindIsNoMount(t *testing.T) {
	dir := t.TempDir()
	tab := filepath.Join(dir, "fstab")
	point := filepath.Join(dir, "share")
	mkdir(t, point)
	if err := os.WriteFile(tab, []byte("fs-1.efs.eu-west-1.amazonaws.com:/ "+point+" nfs4 _netdev,nofail 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Hosts{Fstab: tab, Mounted: IsMountPoint}
	for _, tc := range []struct{ name, bound, store string }{
		{"the mount point bound", point, filepath.Join(point, "sessions")},
		{"the store's directory bound", filepath.Join(point, "sessions"), filepath.Join(point, "sessions")},
		{"a directory between bound", filepath.Join(point, "app"), filepath.Join(point, "app", "sessions")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mkdir(t, tc.bound)
			if err := unix.Mount(tc.bound, tc.bound, "", unix.MS_BIND, ""); err != nil {
				testenv.Skip(t, testenv.Root, "cannot bind-mount here (needs root and mount rights): %v", err)
			}
			defer func() {
				if err := unix.Unmount(tc.bound, 0); err != nil {
					t.Error(err)
				}
			}()
			if IsMountPoint(tc.bound) {
				t.Errorf("%s, bound onto itself: a mount point", tc.bound)
			}
			if why := h.UnmountedShare(tc.store); why == "" {
				t.Errorf("%s, below %s, which fstab mounts and nothing is mounted on (%s bound onto itself): not refused", tc.store, point, tc.bound)
			}
		})
	}
}

// TestMountedIn: mount tables as a hardened systemd service sees them
// (ReadWritePaths= binds each path onto itself in its namespace) and as a
// container does: a directory bound onto itself is judged by the mount
// below it, so a share mounted under it is mounted, and the disk below
// an unmounted one is not; a volume, another file system or another
// directory bound there, is.
func TestMountedIn(t *testing.T) {
	const (
		root    = "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"
		share   = "40 25 0:35 / /mnt/share rw,relatime shared:21 - nfs4 fs-1.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1"
		onShare = "50 40 0:35 / /mnt/share rw,relatime - nfs4 fs-1.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1"
		onDisk  = "50 25 8:1 /mnt/share /mnt/share rw,relatime - ext4 /dev/sda1 rw"
		sessOn  = "51 50 8:1 /mnt/share/sessions /mnt/share/sessions rw,relatime - ext4 /dev/sda1 rw"
		volume  = "60 25 8:1 /var/lib/docker/volumes/s/_data /mnt/share/sessions rw,relatime - ext4 /dev/sda1 rw"
		ovlRoot = "70 69 0:50 / / rw,relatime - overlay overlay rw"
		ovlVol  = "71 70 8:1 /var/lib/docker/volumes/s/_data /mnt/share rw,relatime - ext4 /dev/sda1 rw"
		orphan  = "80 99 8:1 /mnt/share /mnt/share rw,relatime - ext4 /dev/sda1 rw"
	)
	for _, tc := range []struct {
		name  string
		lines []string
		point string
		want  bool
	}{
		{"the share, bound onto itself", []string{root, share, onShare}, "/mnt/share", true},
		{"the disk below the share's point, bound onto itself", []string{root, onDisk}, "/mnt/share", false},
		{"the disk below, the store's directory bound onto itself under it", []string{root, onDisk, sessOn}, "/mnt/share/sessions", false},
		{"a volume below the point", []string{root, volume}, "/mnt/share/sessions", true},
		{"a container's volume at the point", []string{ovlRoot, ovlVol}, "/mnt/share", true},
		{"a bind whose parent is not in the table", []string{root, orphan}, "/mnt/share", true},
		{"nothing", []string{root}, "/mnt/share", false},
	} {
		var tab []mountinfo.Mount
		for _, l := range tc.lines {
			m, ok := mountinfo.Parse(l)
			if !ok {
				t.Fatalf("cannot parse %q", l)
			}
			tab = append(tab, m)
		}
		if got := mountedIn(tab, tc.point); got != tc.want {
			t.Errorf("%s: mounted at %s %v, want %v", tc.name, tc.point, got, tc.want)
		}
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}
