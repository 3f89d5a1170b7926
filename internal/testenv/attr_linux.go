//go:build linux

package testenv

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fsImmutableFL is FS_IMMUTABLE_FL (linux/fs.h), the attribute chattr +i
// sets.
const fsImmutableFL = 0x10

// SetImmutable makes p immutable (chattr +i), which refuses even root its
// changes and its unlink, and undoes it at the end of t. It skips t where
// that cannot be done: not root (CAP_LINUX_IMMUTABLE), or a file system
// without the attribute (tmpfs before Linux 6.0, overlayfs, NFS).
func SetImmutable(t testing.TB, p string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, Root, "needs root: only CAP_LINUX_IMMUTABLE sets the immutable attribute (chattr +i)")
	}
	set := func(on bool) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		if err != nil {
			return err
		}
		if on {
			flags |= fsImmutableFL
		} else {
			flags &^= fsImmutableFL
		}
		return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags)
	}
	if err := set(true); err != nil {
		t.Skipf("the file system of %s does not take the immutable attribute (chattr +i): %v", p, err)
	}
	t.Cleanup(func() {
		if err := set(false); err != nil {
			t.Errorf("chattr -i %s: %v", p, err)
		}
	})
}

// Ext4ErrorTrigger returns the sysfs file that makes the kernel take an
// error on the ext4 file system mounted at mnt (mounted with
// errors=remount-ro, the error remounts it read-only, even with files
// open for writing, which a remount refuses), or skips t where there is
// none.
func Ext4ErrorTrigger(t testing.TB, mnt string) string {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		// mount ID, parent ID, major:minor, root, mount point, ..., "-", type, source, options
		f := strings.Fields(line)
		if len(f) < 10 || f[4] != mnt {
			continue
		}
		for i, w := range f {
			if w == "-" && i+2 < len(f) {
				p := "/sys/fs/ext4/" + strings.TrimPrefix(f[i+2], "/dev/") + "/trigger_fs_error"
				if _, err := os.Stat(p); err != nil {
					Skip(t, Root, "no ext4 error trigger for %s: %v", mnt, err)
				}
				return p
			}
		}
	}
	Skip(t, Root, "%s not in /proc/self/mountinfo", mnt)
	return ""
}
