package fsstore

import "golang.org/x/sys/unix"

// syncData makes a file's data durable.
func syncData(fd int) error { return unix.Fsync(fd) }
