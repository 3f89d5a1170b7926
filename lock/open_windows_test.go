//go:build windows

package lock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// TestLeaseOpenElsewhereIsRemovable: the lease file may be open in another
// process or goroutine of the package at any moment (a waiter reading it,
// the holder renewing it). Opened without FILE_SHARE_DELETE, it could not
// be removed meanwhile (a sharing violation): the holder's Unlock failed
// and left the lease to expire, and a breaker could not rename over it.
func TestLeaseOpenElsewhereIsRemovable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags int
	}{
		{"read by a waiter", os.O_RDONLY},
		{"renewed by its holder", os.O_RDWR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tab, err := NewTable(Config{Dir: dir, Strategy: Lease})
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			h, err := tab.TryLock("k", "k", Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			d, err := openLockDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			f, err := d.open("k"+leaseSuffix, tc.flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := h.Unlock(); err != nil {
				t.Fatalf("Unlock with the lease file open elsewhere: %v", err)
			}

			h, err = tab.TryLock("k2", "k2", Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			g, err := d.open("k2"+leaseSuffix, tc.flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := posixRename(t); err != nil {
				t.Skipf("a rename over a file open elsewhere needs FileRenameInformationEx with FILE_RENAME_POSIX_SEMANTICS (NTFS on Windows 10 1809 and later), which this system refuses: %v", err)
			}
			repl := "k2" + leaseSuffix + takeInfix + "test"
			if err := os.WriteFile(d.join(repl), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := d.rename(repl, "k2"+leaseSuffix); err != nil {
				t.Fatalf("a breaker's rename over the lease file open elsewhere: %v", err)
			}
		})
	}
}

// posixRename returns why this system cannot rename a file over another
// one that a handle holds open, nil if it can: it asks for
// FileRenameInformationEx with FILE_RENAME_POSIX_SEMANTICS itself, so
// that the answer does not depend on the code under test. (Wine 8 answers
// STATUS_NOT_IMPLEMENTED; FAT and older Windows refuse it too.)
func posixRename(t *testing.T) error {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, p := range []string{src, dst} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	held, err := openFile(dst, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(windows.StringToUTF16Ptr(src), windows.DELETE|windows.SYNCHRONIZE, share, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	name, err := windows.UTF16FromString(dst)
	if err != nil {
		t.Fatal(err)
	}
	// FILE_RENAME_INFORMATION: Flags (the union), RootDirectory,
	// FileNameLength, FileName.
	type renameInfo struct {
		Flags          uint32
		RootDirectory  windows.Handle
		FileNameLength uint32
		FileName       [1]uint16
	}
	off := int(unsafe.Offsetof(renameInfo{}.FileName))
	buf := make([]uint64, (off+2*len(name)+7)/8)
	ri := (*renameInfo)(unsafe.Pointer(&buf[0]))
	ri.Flags = windows.FILE_RENAME_REPLACE_IF_EXISTS | windows.FILE_RENAME_POSIX_SEMANTICS
	ri.FileNameLength = uint32(2 * (len(name) - 1))
	copy(unsafe.Slice(&ri.FileName[0], len(name)), name)
	const fileRenameInformationEx = 65
	var iosb windows.IO_STATUS_BLOCK
	return windows.NtSetInformationFile(h, &iosb, (*byte)(unsafe.Pointer(&buf[0])), uint32(8*len(buf)), fileRenameInformationEx)
}

// TestBreakWhileLeaseRead: a breaker replaces an expired lease while a
// waiter has it open for reading. Where the rename cannot replace an open
// file (no POSIX rename semantics: FAT, SMB shares, Windows before 10
// 1809, Wine 8), it was refused with ERROR_ACCESS_DENIED and TryLock
// returned that error; it is a lock found held now, taken once the reader
// is done. With POSIX semantics the breaker takes it at once.
func TestBreakWhileLeaseRead(t *testing.T) {
	dir := t.TempDir()
	tab, err := NewTable(Config{Dir: dir, Strategy: Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	d, err := openLockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if err := os.WriteFile(d.join("f"+leaseSuffix), ExpiredLease("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := d.open("f"+leaseSuffix, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tab.TryLock("f", "k", Exclusive)
	reader.Close()
	switch {
	case err == nil:
		// POSIX rename semantics: taken over the reader's handle.
	case errors.Is(err, ErrLocked):
		if h, err = tab.TryLock("f", "k", Exclusive); err != nil {
			t.Fatalf("TryLock once the reader is done: %v", err)
		}
	default:
		t.Fatalf("TryLock of an expired lease a waiter is reading = %v; want the lock, or ErrLocked", err)
	}
	if err := h.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := h.Unlock(); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, broken, ok := IsLeaseFile(e.Name()); ok && broken {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestLeaseDeletePending: a lease file removed while another handle has it
// open, on a filesystem without POSIX delete semantics (see createFile),
// keeps its name until that handle closes, and every open of it fails
// meanwhile with STATUS_DELETE_PENDING (ERROR_ACCESS_DENIED to Win32).
// Another table's TryLock then failed with "Access is denied", and the
// holder's Verify and Unlock did too, where its lease is gone. The
// classic delete (FileDispositionInformation) makes that state on every
// Windows filesystem, NTFS included.
func TestLeaseDeletePending(t *testing.T) {
	dir := t.TempDir()
	tab, err := NewTable(Config{Dir: dir, Strategy: Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	other, err := NewTable(Config{Dir: dir, Strategy: Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	h, err := tab.TryLock("k", "k", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "k"+leaseSuffix)
	pending := deleteClassic(t, p)
	defer func() {
		if pending != 0 {
			windows.CloseHandle(pending)
		}
	}()
	if f, err := openFile(p, os.O_RDONLY, 0); err == nil {
		f.Close()
		t.Skip("this system opens a file whose delete is pending (Wine 8 does), where Windows refuses every open of it with STATUS_DELETE_PENDING")
	}

	if h2, err := other.TryLock("k", "k", Exclusive); !errors.Is(err, ErrLocked) {
		if err == nil {
			h2.Unlock()
		}
		t.Errorf("TryLock while the lease file's delete is pending = %v; want ErrLocked", err)
	}
	if err := h.Verify(); !errors.Is(err, ErrLockLost) {
		t.Errorf("the holder's Verify while its lease file's delete is pending = %v; want ErrLockLost", err)
	}
	if err := h.Unlock(); !errors.Is(err, ErrLockLost) {
		t.Errorf("the holder's Unlock while its lease file's delete is pending = %v; want ErrLockLost", err)
	}
	if gone, err := BreakExpiredLease(dir, "k", time.Second, 0); !gone || err != nil {
		t.Errorf("BreakExpiredLease while the lease file's delete is pending = %v, %v; want true (gone), nil", gone, err)
	}
	if err := removeFile(p, nil, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("removeFile while the file's delete is pending = %v; want fs.ErrNotExist", err)
	}

	windows.CloseHandle(pending)
	pending = 0
	h2, err := other.TryLock("k", "k", Exclusive)
	if err != nil {
		t.Fatalf("TryLock once the lease file is deleted: %v", err)
	}
	if err := h2.Unlock(); err != nil {
		t.Errorf("Unlock: %v", err)
	}
}

// deleteClassic asks for the delete of the file at p with classic
// semantics (FileDispositionInformation), and returns the handle that
// keeps it pending until closed.
func deleteClassic(t *testing.T, p string) windows.Handle {
	t.Helper()
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(windows.StringToUTF16Ptr(p), windows.DELETE, share, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		t.Fatal(err)
	}
	disp := struct{ DeleteFile bool }{true} // FILE_DISPOSITION_INFORMATION
	const fileDispositionInformation = 13
	var iosb windows.IO_STATUS_BLOCK
	if err := windows.NtSetInformationFile(h, &iosb, (*byte)(unsafe.Pointer(&disp)), uint32(unsafe.Sizeof(disp)), fileDispositionInformation); err != nil {
		windows.CloseHandle(h)
		t.Fatalf("delete %s: %v", p, err)
	}
	return h
}

// TestCreateFileStatus: createFile tells a pending delete from the other
// refusals that Win32 reports as ERROR_ACCESS_DENIED by the NTSTATUS the
// failed call left on its thread. A directory opened as a file is one
// (STATUS_FILE_IS_A_DIRECTORY): the status read must be that call's.
func TestCreateFileStatus(t *testing.T) {
	dir := t.TempDir()
	p := windows.StringToUTF16Ptr(dir)
	if err := procRtlGetLastNtStatus.Find(); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	st := lastNtStatus()
	runtime.UnlockOSThread()
	if err == nil {
		windows.CloseHandle(h)
		t.Fatal("CreateFile of a directory without FILE_FLAG_BACKUP_SEMANTICS succeeded")
	}
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) || st != windows.STATUS_FILE_IS_A_DIRECTORY {
		t.Fatalf("CreateFile of a directory = %v, status %#x; want ERROR_ACCESS_DENIED, STATUS_FILE_IS_A_DIRECTORY", err, uint32(st))
	}
	_, err = createFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL)
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, errDeletePending) {
		t.Errorf("createFile of a directory = %v; want ERROR_ACCESS_DENIED, not a pending delete", err)
	}
}
