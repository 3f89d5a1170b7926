//go:build linux && !loong64 && !riscv64

package fsstore

import "golang.org/x/sys/unix"

// sysRenameat is the system call renameatName makes: renameat(2), which
// x/sys/unix's Renameat makes here too.
const sysRenameat = unix.SYS_RENAMEAT
