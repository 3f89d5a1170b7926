//go:build windows

package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

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
	p, err := extendedPath(path)
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
	h, err := createFile(p, access, share, create, attrs)
	if err != nil {
		// A syscall.Errno: errors.Is matches fs.ErrExist (ERROR_FILE_EXISTS)
		// and fs.ErrNotExist (ERROR_FILE_NOT_FOUND) as os.OpenFile's do.
		// A file whose delete is pending is gone, but its name is not
		// free yet: taken, to a create.
		if errors.Is(err, errDeletePending) && create == windows.CREATE_NEW {
			err = errDeletePendingExists
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// createFile is windows.CreateFile, with an error that errors.Is
// errDeletePending where the file is being deleted.
//
// A file removed while another handle has it open, on a filesystem
// without POSIX delete semantics (FAT, exFAT, ReFS, SMB shares, older
// Windows; or a delete asked for with the classic
// FileDispositionInformation), keeps its name until the last handle
// closes, and every open of it, a create included, fails meanwhile with
// STATUS_DELETE_PENDING, which Win32 reports as ERROR_ACCESS_DENIED. A
// lease file is open for a moment in each waiter that reads it: its
// holder's Unlock then left it pending, and another waiter's TryLock or
// Lock failed with "Access is denied", where the lock was found free (or
// held) a moment later. The NTSTATUS behind the error is read from the
// thread (RtlGetLastNtStatus), which the call failed on.
func createFile(p *uint16, access, share, create, attrs uint32) (windows.Handle, error) {
	statusErr := procRtlGetLastNtStatus.Find() // loaded now: loading sets the status
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := windows.CreateFile(p, access, share, nil, create, attrs, 0)
	if err != nil && statusErr == nil && errors.Is(err, windows.ERROR_ACCESS_DENIED) && lastNtStatus() == windows.STATUS_DELETE_PENDING {
		err = errDeletePending
	}
	return h, err
}

var procRtlGetLastNtStatus = windows.NewLazySystemDLL("ntdll.dll").NewProc("RtlGetLastNtStatus")

// lastNtStatus returns the NTSTATUS of the last failed call on this
// thread; the caller has it locked to the thread since that call.
func lastNtStatus() windows.NTStatus {
	st, _, _ := procRtlGetLastNtStatus.Call()
	return windows.NTStatus(st)
}

// deletePendingError is the error of an open, or a remove, of a file whose
// delete is pending (see createFile): it is gone (fs.ErrNotExist), or to a
// create, whose name it still takes, there (fs.ErrExist).
type deletePendingError struct{ is error }

func (e deletePendingError) Error() string {
	return "the file is being deleted (its name is free once every handle to it is closed)"
}

func (e deletePendingError) Is(target error) bool { return target == e.is }

var (
	errDeletePending       error = deletePendingError{fs.ErrNotExist}
	errDeletePendingExists error = deletePendingError{fs.ErrExist}
)

// removePatience is how long removeFile keeps trying a delete refused
// with a sharing violation, as Go's toolchain (its robustio package) and
// the sessgc command's file writes do for 2 s.
const removePatience = 2 * time.Second

// removeFile removes the file at path, as os.Remove does; one whose delete
// is pending already is gone (fs.ErrNotExist), where os.Remove fails with
// ERROR_ACCESS_DENIED.
//
// A delete refused with a sharing violation (another process has the file
// open without sharing delete access: a virus scanner, the search
// indexer, a backup agent, a tool reading it with os.Open; this package's
// own opens share it) is tried again for up to removePatience, waiting
// 1 ms first, each wait twice the last, at most 250 ms: such a process
// holds a file for a moment. A lease's Unlock failed at the first
// refusal, leaving its lease in place, so that every other process was
// kept out until it ran out (LeaseTTL plus LeaseGrace). refused, when not
// nil, is called before each wait (tests).
//
// over, when not nil, ends the tries once it reports true: a lease's
// Unlock stops at the lease's expiry, from which on (past the grace
// period) a breaker may put its own lease at the name, which a later try
// would remove. It tried for 2 s whatever the lease had left: with a
// short LeaseTTL, or renewals that had failed, the Unlock could remove
// the lease of the process that broke its own.
func removeFile(path string, refused func(string), over func() bool) error {
	next, waited := time.Millisecond, time.Duration(0)
	for {
		err := removeOnce(path)
		if err == nil || !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
			return err
		}
		if over != nil && over() {
			return fmt.Errorf("%w (refused until the lease expired: another process has the file open without sharing delete access)", err)
		}
		if waited+next > removePatience {
			return fmt.Errorf("%w (refused for %v: another process has the file open without sharing delete access)", err, removePatience)
		}
		if refused != nil {
			refused(path)
		}
		time.Sleep(next)
		waited += next
		next = min(2*next, 250*time.Millisecond)
	}
}

// removeOnce is one try of removeFile.
func removeOnce(path string) error {
	p, err := extendedPath(path)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	if procRtlGetLastNtStatus.Find() == nil {
		runtime.LockOSThread()
		err = windows.DeleteFile(p)
		pending := err != nil && errors.Is(err, windows.ERROR_ACCESS_DENIED) && lastNtStatus() == windows.STATUS_DELETE_PENDING
		runtime.UnlockOSThread()
		switch {
		case err == nil:
			return nil
		case pending:
			return &fs.PathError{Op: "remove", Path: path, Err: errDeletePending}
		}
	}
	// What DeleteFile refused (a read-only file, a directory), os.Remove
	// answers as elsewhere.
	return os.Remove(path)
}

// extendedPath returns path, for the package's own CreateFile and
// DeleteFile calls, in the extended-length form (\\?\C:\..., or
// \\?\UNC\server\share\...) when it is too long for the classic one,
// as package os does for its calls (fixLongPath): without it those calls
// fail beyond MAX_PATH (260 characters) where Windows does not take long
// paths without the prefix (before Windows 10 1703, which Go's runtime
// needs to turn long paths on; Windows Server 2016 is 1607), while os's
// calls on the same paths worked: a lock directory that NewTable found
// held no lease that could be created. Unlike os, the prefix is added
// also where Go's runtime turned long paths on, which Windows honours
// only with the LongPathsEnabled setting; with the prefix no setting is
// needed. A short path, one with a prefix already and a device path
// (\\.\) are left as they are; the name is made absolute and cleaned
// first (GetFullPathName), as the prefix turns off that cleaning.
func extendedPath(path string) (*uint16, error) {
	// 248: a directory's path must leave room for an 8.3 name (MAX_PATH
	// less 12), so os prefixes from there on too.
	if len(path) < 248 || strings.HasPrefix(path, `\\?\`) || strings.HasPrefix(path, `\??\`) || strings.HasPrefix(path, `\\.\`) {
		return windows.UTF16PtrFromString(path)
	}
	p, err := windows.UTF16FromString(path)
	if err != nil {
		return nil, err
	}
	buf := make([]uint16, len(p)+64)
	for {
		n, err := windows.GetFullPathName(&p[0], uint32(len(buf)), &buf[0], nil)
		if err != nil {
			return windows.UTF16PtrFromString(path)
		}
		if int(n) < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]uint16, n)
	}
	full := windows.UTF16ToString(buf)
	switch {
	case strings.HasPrefix(full, `\\?\`), strings.HasPrefix(full, `\\.\`):
	case strings.HasPrefix(full, `\\`):
		full = `\\?\UNC\` + full[2:]
	default:
		full = `\\?\` + full
	}
	return windows.UTF16PtrFromString(full)
}
