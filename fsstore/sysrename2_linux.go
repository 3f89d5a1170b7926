//go:build linux && (loong64 || riscv64)

package fsstore

import "golang.org/x/sys/unix"

// sysRenameat is the system call renameatName makes: these architectures
// have no renameat(2), and x/sys/unix's Renameat makes renameat2(2) with
// no flags, as renameatName does.
const sysRenameat = unix.SYS_RENAMEAT2
