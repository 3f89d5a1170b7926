package lock

import "golang.org/x/sys/unix"

// datasync flushes a lock file's data; on NFS it makes the WRITE reach the
// server, which is what proves the lock is still held.
func datasync(fd int) error { return unix.Fdatasync(fd) }
