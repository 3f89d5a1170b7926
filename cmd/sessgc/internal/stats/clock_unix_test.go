//go:build unix

package stats

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestClockFallbackWhateverErrno: the census falls back to this host's
// clock on fsstore.ErrNoServerClock whatever made the store's top refuse
// the clock's temp file, so a quota (EDQUOT) or a stale NFS handle
// (ESTALE) there is counted as permission denied, a read-only mount and a
// full file system are (TestStatsWithoutServerClock, which makes those
// for real; a quota or a stale handle cannot be made in a unit test, so
// the errors are injected here, wrapped as fsstore wraps them). The note
// names the errno. At Open a quota refuses writing as a full disk does,
// and the census reads the store read-only; a stale handle is no refusal
// to write, and fails the read-only open as it would any other.
func TestClockFallbackWhateverErrno(t *testing.T) {
	for _, tc := range []struct {
		errno        syscall.Errno
		writeRefused bool
		why          string // in the note of an Open refused
	}{
		{syscall.EACCES, true, "may not write it"},
		{syscall.EROFS, true, "read-only filesystem"},
		{syscall.ENOSPC, true, "full (disk full or quota)"},
		{syscall.EDQUOT, true, "full (disk full or quota)"},
		{syscall.ESTALE, false, ""},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			path := "/mnt/efs/sessions/.tmp-clock-0123456789abcdef"
			clockErr := fmt.Errorf("%w (a temp file at the store's top tells it): %w", fsstore.ErrNoServerClock, &fs.PathError{Op: "open", Path: path, Err: tc.errno})
			// census's test for the fallback.
			if !errors.Is(clockErr, fsstore.ErrNoServerClock) {
				t.Fatalf("%v: not ErrNoServerClock", clockErr)
			}
			note := readOnlyNote("/mnt/efs/sessions", clockErr, 24*time.Minute)
			for _, s := range []string{"the file server's clock could not be read", tc.errno.Error(), "ages were judged by this host's clock"} {
				if !strings.Contains(note, s) {
					t.Errorf("note %q does not say %q", note, s)
				}
			}
			openErr := &fs.PathError{Op: "open", Path: "/mnt/efs/sessions/data/.probe", Err: tc.errno}
			if got := writeRefused(openErr); got != tc.writeRefused {
				t.Errorf("writeRefused(%v) = %v, want %v", openErr, got, tc.writeRefused)
			}
			if tc.writeRefused {
				if note := readOnlyNote("/mnt/efs/sessions", openErr, 24*time.Minute); !strings.Contains(note, tc.why) {
					t.Errorf("note %q does not say %q", note, tc.why)
				}
			}
		})
	}
}
