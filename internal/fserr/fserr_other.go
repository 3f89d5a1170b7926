//go:build !unix && !windows

package fserr

import "syscall"

// syscall's names, where the system has them (plan9, wasip1, js).
var (
	readOnlyErrnos []syscall.Errno
	noSpaceErrnos  []syscall.Errno
)
