//go:build unix && !linux

package fsstore_test

import "golang.org/x/sys/unix"

// The raw baselines make the syscalls fsstore makes on this platform:
// fallocate is Linux's, and so is fdatasync.

func rawFallocate(fd int, n int64) error { return nil }

func rawFdatasync(fd int) error { return unix.Fsync(fd) }
