//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package lock

import "golang.org/x/sys/unix"

// datasync flushes a lock file's data. fdatasync(2) is not available on
// every BSD (nor in golang.org/x/sys/unix for them); fsync does the same
// and more.
func datasync(fd int) error { return unix.Fsync(fd) }
