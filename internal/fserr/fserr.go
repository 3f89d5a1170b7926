// Package fserr tells the operating system's refusals of a write that an
// operator fixes on the file system rather than in the program: a
// read-only file system and a full one (or a full quota). Each system
// has codes of its own for them: EROFS, ENOSPC and EDQUOT on Unix; on
// Windows, ERROR_WRITE_PROTECT for a read-only volume, ERROR_DISK_FULL,
// ERROR_HANDLE_DISK_FULL and ERROR_DISK_QUOTA_EXCEEDED for a full one,
// which match none of syscall's Unix names there. A check of
// syscall.EROFS alone missed Windows's code, and the refusal was told as
// an error of the store's.
package fserr

import (
	"errors"
	"syscall"
)

// ReadOnly reports whether err is a write refused because the file
// system is read-only on this host (EROFS; on Windows, a write-protected
// volume).
func ReadOnly(err error) bool { return isAny(err, readOnlyErrnos) }

// NoSpace reports whether err is a write refused because the file system
// or the user's quota is full (ENOSPC, EDQUOT; on Windows, their codes).
func NoSpace(err error) bool { return isAny(err, noSpaceErrnos) }

// ReadOnlyErrnos returns the codes that ReadOnly matches on this system.
func ReadOnlyErrnos() []syscall.Errno { return append([]syscall.Errno(nil), readOnlyErrnos...) }

// NoSpaceErrnos returns the codes that NoSpace matches on this system.
func NoSpaceErrnos() []syscall.Errno { return append([]syscall.Errno(nil), noSpaceErrnos...) }

func isAny(err error, codes []syscall.Errno) bool {
	if err == nil {
		return false
	}
	for _, c := range codes {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}
