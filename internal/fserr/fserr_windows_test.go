package fserr_test

import (
	"io/fs"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/sessfs/sessfs/internal/fserr"
)

// TestWindowsCodes: the codes Windows's file operations return for a
// write-protected volume and a full disk or quota, which match none of
// syscall's Unix names there (errors.Is(ERROR_WRITE_PROTECT,
// syscall.EROFS) is false), are told as read-only and full.
func TestWindowsCodes(t *testing.T) {
	for _, c := range []struct {
		code              syscall.Errno
		readOnly, noSpace bool
	}{
		{windows.ERROR_WRITE_PROTECT, true, false},
		{windows.ERROR_DISK_FULL, false, true},
		{windows.ERROR_HANDLE_DISK_FULL, false, true},
		{windows.ERROR_DISK_QUOTA_EXCEEDED, false, true},
		{windows.ERROR_ACCESS_DENIED, false, false},
	} {
		err := &fs.PathError{Op: "remove", Path: `C:\s\data\00\x`, Err: c.code}
		if got := fserr.ReadOnly(err); got != c.readOnly {
			t.Errorf("ReadOnly(%v) = %v, want %v", err, got, c.readOnly)
		}
		if got := fserr.NoSpace(err); got != c.noSpace {
			t.Errorf("NoSpace(%v) = %v, want %v", err, got, c.noSpace)
		}
	}
}
