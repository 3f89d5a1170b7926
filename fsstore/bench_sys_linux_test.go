package fsstore_test

import "golang.org/x/sys/unix"

// The raw baselines make the syscalls fsstore makes on this platform.

func rawFallocate(fd int, n int64) error { return unix.Fallocate(fd, 0, 0, n) }

func rawFdatasync(fd int) error { return unix.Fdatasync(fd) }
