package fserr

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// Windows's own codes, which its file operations return, and syscall's
// Unix names, which Go's own code returns for a few (EROFS is invented
// there, as an APPLICATION_ERROR, and no call of the system's returns it).
var (
	readOnlyErrnos = []syscall.Errno{windows.ERROR_WRITE_PROTECT, syscall.EROFS}
	noSpaceErrnos  = []syscall.Errno{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED, syscall.ENOSPC, syscall.EDQUOT}
)
