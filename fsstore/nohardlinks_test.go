package fsstore

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// TestNoHardLinks: the answers of link(2) that say a file system makes no
// hard links, as FAT, fusefat, rclone's and s3fs's mounts and macOS give
// them, and not those of a link that failed for another reason.
func TestNoHardLinks(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.EPERM, true},
		{syscall.ENOSYS, true},
		{syscall.EOPNOTSUPP, true},
		// macOS's answer for FAT and exFAT: not EOPNOTSUPP there.
		{syscall.ENOTSUP, true},
		{&os.LinkError{Op: "link", Old: "a", New: "b", Err: syscall.ENOTSUP}, true},
		{&os.LinkError{Op: "link", Old: "a", New: "b", Err: syscall.ENOSYS}, true},
		{syscall.EACCES, false},
		{syscall.EEXIST, false},
		{syscall.ENOSPC, false},
		{syscall.EROFS, false},
		{fs.ErrNotExist, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := noHardLinks(tc.err); got != tc.want {
			t.Errorf("noHardLinks(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
