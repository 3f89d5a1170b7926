//go:build windows

package lock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
