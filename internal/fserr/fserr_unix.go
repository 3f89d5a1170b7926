//go:build unix

package fserr

import "syscall"

var (
	readOnlyErrnos = []syscall.Errno{syscall.EROFS}
	noSpaceErrnos  = []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT}
)
