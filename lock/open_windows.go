//go:build windows

package lock

import (
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openFile opens a lock directory's file as os.OpenFile does, but lets
// others delete and rename it while it is open (FILE_SHARE_DELETE), which
// os.OpenFile does not. Without that, every reader of a lease (a waiter
// polling it, a breaker judging it) and the holder's renewal, each of
// which holds the file open for a moment, failed whoever removed the file
// or renamed over it meanwhile with a sharing violation: an Unlock then
// left its lease in place, keeping everyone out until it expired (TTL
// plus grace), and a breaker's replacement of an expired lease failed.
//
// Only the flags the package uses are handled: an access mode,
// O_CREATE and O_EXCL. Handles are not inherited by child processes.
func openFile(path string, flags int, perm fs.FileMode) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var access uint32
	switch flags & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		access = windows.GENERIC_READ
	case os.O_WRONLY:
		access = windows.GENERIC_WRITE
	case os.O_RDWR:
		access = windows.GENERIC_READ | windows.GENERIC_WRITE
	}
	var create uint32
	attrs := uint32(windows.FILE_ATTRIBUTE_NORMAL)
	switch {
	case flags&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		access |= windows.GENERIC_WRITE
		create = windows.CREATE_NEW
		// As os.OpenFile: a link planted at the name is not followed.
		attrs |= windows.FILE_FLAG_OPEN_REPARSE_POINT
	case flags&os.O_CREATE != 0:
		access |= windows.GENERIC_WRITE
		create = windows.OPEN_ALWAYS
	default:
		create = windows.OPEN_EXISTING
	}
	if perm&0o200 == 0 {
		attrs = attrs&^windows.FILE_ATTRIBUTE_NORMAL | windows.FILE_ATTRIBUTE_READONLY
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(p, access, share, nil, create, attrs, 0)
	if err != nil {
		// A syscall.Errno: errors.Is matches fs.ErrExist (ERROR_FILE_EXISTS)
		// and fs.ErrNotExist (ERROR_FILE_NOT_FOUND) as os.OpenFile's do.
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
