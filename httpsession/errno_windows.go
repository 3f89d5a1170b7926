package httpsession

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// platformErrnos are Windows's codes for a full disk or quota and a
// write-protected volume, which the store's file operations return there
// in place of ENOSPC, EDQUOT and EROFS (see unavailableErrnos).
var platformErrnos = []syscall.Errno{
	windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL,
	windows.ERROR_DISK_QUOTA_EXCEEDED, windows.ERROR_WRITE_PROTECT,
}
