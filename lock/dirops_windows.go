//go:build windows

package lock

import (
	"errors"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// renameOver renames oldName over newName in dir, also while newName is
// open elsewhere (a waiter reading the lease a breaker replaces). os.Rename
// is MoveFileEx, whose replacement fails with ERROR_ACCESS_DENIED while any
// handle to the target is open, FILE_SHARE_DELETE or not: a breaker then
// failed whenever a waiter was reading the expired lease, and its TryLock
// returned that error. os.Root's Rename asks for POSIX semantics
// (FileRenameInformationEx with FILE_RENAME_POSIX_SEMANTICS: NTFS on
// Windows 10 1809 and later), which replace the name and leave open
// handles on the replaced file; where the filesystem lacks them it falls
// back to the classic rename.
func renameOver(dir, oldName, newName string) error {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Rename(oldName, newName)
}

// renameRefusedOpen reports a rename refused because a handle to its
// target is open (ERROR_ACCESS_DENIED, or a sharing violation), where the
// filesystem lacks POSIX rename semantics (see renameOver): FAT, SMB
// shares, Windows before 10 1809. The breaker tries again at its next
// poll; until then the lease counts as held. A lease file it may not
// replace for good (made read-only by hand) keeps the lock busy, as a
// live lease does, until someone removes it.
func renameRefusedOpen(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

// fileBasicInfo is FILE_BASIC_INFO (GetFileInformationByHandleEx's
// FileBasicInfo class), which x/sys/windows does not define.
type fileBasicInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime int64
	FileAttributes                                          uint32
	_                                                       uint32
}

// identify returns the file's index on its volume as its inode number and
// its ChangeTime as its ctime. os.FileInfo gives neither here, and without
// them a lease file without a record was named by its mtime, so that one
// touched to another time while a breaker acted on it (a restore, a copy
// keeping times) got a second name and a second breaker, and a claim was
// dated by its mtime, which the NFS client's exclusive create sets to its
// verifier until its SETATTR. ChangeTime moves on every write and
// attribute change, as a ctime does.
func identify(path string) (ino uint64, ctime, mtime int64, err error) {
	p, err := extendedPath(path)
	if err != nil {
		return 0, 0, 0, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	// Attributes only: no access that a sharing mode could refuse. The
	// reparse point itself, as Lstat: a link planted at the name is not
	// followed.
	h, err := createFile(p, windows.FILE_READ_ATTRIBUTES, share, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS)
	if err != nil {
		return 0, 0, 0, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return 0, 0, 0, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	var bi fileBasicInfo
	if err := windows.GetFileInformationByHandleEx(h, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&bi)), uint32(unsafe.Sizeof(bi))); err != nil {
		return 0, 0, 0, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	ino = uint64(fi.FileIndexHigh)<<32 | uint64(fi.FileIndexLow)
	ctime, mtime, err = basicTimes(&bi)
	if err != nil {
		return 0, 0, 0, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return ino, ctime, mtime, nil
}

// basicTimes returns a file's ctime and mtime from its FILE_BASIC_INFO.
// A time the filesystem does not keep reads 0 there: FAT keeps no
// ChangeTime (nor does exFAT). A file there is dated by its last write, as elsewhere
// before ChangeTime was read; 0 taken for a time (1601) is past what
// Unix nanoseconds hold and wrapped to 2185, so that a breaker's claim
// never went stale and a lease file without a record never expired.
// What dates a file is its ctime (see lockDir.ident; the mtime only
// where a test asks, SetLeaseAgeByMtime): a filesystem that keeps a
// ChangeTime but gives no write time (a redirector or user-mode
// filesystem that leaves it unset) dates its files by the ChangeTime,
// and its mtime reads as that too, since every write is a change. A
// file with neither time cannot be dated, and an error says so: dated as
// new or as old, it would either keep a lock from being broken for good
// or let two breakers act at once.
func basicTimes(bi *fileBasicInfo) (ctime, mtime int64, err error) {
	change, write := bi.ChangeTime, bi.LastWriteTime
	switch {
	case change <= 0 && write <= 0:
		return 0, 0, errNoFileTimes
	case change <= 0:
		change = write
	case write <= 0:
		write = change
	}
	return filetimeNanos(change), filetimeNanos(write), nil
}

// errNoFileTimes: the filesystem gave neither a change nor a write time.
var errNoFileTimes = errors.New("the filesystem gives the file neither a change time nor a write time")

// filetimeNanos converts a FILETIME count (100 ns since 1601) to Unix
// nanoseconds.
func filetimeNanos(t int64) int64 {
	const unixEpoch = 116444736000000000 // 1970-01-01 in FILETIME units
	return (t - unixEpoch) * 100
}
