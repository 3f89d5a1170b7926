//go:build unix && !linux

package fsstore

import "golang.org/x/sys/unix"

// dirWritable returns why this process may not create or remove files in
// dir (nil: it may), as the kernel answers access(2): the modes and ACLs,
// a read-only mount (EROFS). access(2) asks for the real user, which is
// the effective one unless sessgc is installed setuid. It does not see a
// sticky directory's rule that only a file's owner removes it.
func dirWritable(dir string) error {
	for {
		if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != unix.EINTR {
			return err
		}
	}
}
