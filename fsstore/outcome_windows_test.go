package fsstore

import (
	"fmt"
	"io/fs"
	"testing"

	"golang.org/x/sys/windows"
)

// TestOutcomeWindowsCodes: Windows reports a full disk, a quota and a
// write-protected volume with its own codes, not ENOSPC, EDQUOT and EROFS
// (which Go defines there as codes no call returns), so the outcomes an
// operator fixes on the file server are read from those codes, wrapped as
// the store wraps them. A refused access is the permission outcome, and a
// sharing violation (another program has the file open) no outcome of its
// own.
func TestOutcomeWindowsCodes(t *testing.T) {
	for _, tc := range []struct {
		errno windows.Errno
		want  Outcome
	}{
		{windows.ERROR_DISK_FULL, OutcomeNoSpace},
		{windows.ERROR_HANDLE_DISK_FULL, OutcomeNoSpace},
		{windows.ERROR_DISK_QUOTA_EXCEEDED, OutcomeNoSpace},
		{windows.ERROR_WRITE_PROTECT, OutcomeReadOnlyFS},
		{windows.ERROR_ACCESS_DENIED, OutcomePermission},
		{windows.ERROR_SHARING_VIOLATION, OutcomeError},
	} {
		err := fmt.Errorf("fsstore: save: %w", &fs.PathError{Op: "write", Path: `C:\sessions\data\ab\x`, Err: tc.errno})
		if got := outcomeOf(err); got != tc.want {
			t.Errorf("%v: outcome %v, want %v", tc.errno, got, tc.want)
		}
	}
}
