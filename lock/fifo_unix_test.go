//go:build unix

package lock_test

import "syscall"

const syscallONonblock = syscall.O_NONBLOCK

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o600) }
