package fsstore

import "golang.org/x/sys/unix"

// dirWritable returns why this process may not create or remove files in
// dir (nil: it may), as the kernel answers faccessat2 with AT_EACCESS:
// the modes and ACLs, a read-only mount (EROFS), an NFS server's answer,
// for the process's effective user and capabilities, those the removal
// itself has. access(2) asks for the real user, and without its
// capabilities unless that user is root: a user given CAP_DAC_OVERRIDE
// (a systemd unit's AmbientCapabilities=) was told "permission denied"
// of every file its real run then removed. Before Linux 5.8, or under a
// seccomp filter that refuses faccessat2 (EPERM, as older container
// runtimes' do), it is access(2), which differs only there: not the
// emulation of AT_EACCESS that x/sys makes of the file's modes, which
// sees no ACL, read-only mount or NFS server. It does not see a sticky
// directory's rule that only a file's owner removes it.
func dirWritable(dir string) error {
	for {
		err := unix.Faccessat2(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS)
		if err == unix.ENOSYS || err == unix.EPERM {
			err = unix.Access(dir, unix.W_OK|unix.X_OK)
		}
		if err != unix.EINTR {
			return err
		}
	}
}
