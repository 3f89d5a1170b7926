package fsstore

import "golang.org/x/sys/unix"

// syncData makes a file's data durable. On macOS fsync(2) leaves the data
// in the drive's cache; F_FULLFSYNC flushes it. Filesystems without it (some
// network ones) get a plain fsync.
func syncData(fd int) error {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_FULLFSYNC, 0); err == nil {
		return nil
	}
	return unix.Fsync(fd)
}
