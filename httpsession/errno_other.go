//go:build !windows

package httpsession

import "syscall"

// platformErrnos: elsewhere the POSIX codes of unavailableErrnos are the
// ones the file system returns.
var platformErrnos []syscall.Errno
