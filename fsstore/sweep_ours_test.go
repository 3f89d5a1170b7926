package fsstore

import (
	"io/fs"
	"testing"

	"github.com/sessfs/sessfs/internal/record"
)

// ours takes a file at a record's name for a record from its attributes
// alone: a regular file that is empty (what a power loss leaves) or at
// least a header long. The listing said regular; ours sees the lstat made
// after it, so a directory or a link swapped in meanwhile is not moved
// aside, where it could not be put back.
func TestOursJudgesByTypeAndSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   fileStat
		want bool
	}{
		{"empty: a power loss", fileStat{}, true},
		{"a header long", fileStat{size: record.HeaderSize}, true},
		{"a record", fileStat{size: 1 << 14}, true},
		{"shorter than a header", fileStat{size: record.HeaderSize - 1}, false},
		{"one byte", fileStat{size: 1}, false},
		{"a directory", fileStat{typ: fs.ModeDir, size: 4096}, false},
		{"a symbolic link", fileStat{typ: fs.ModeSymlink, size: 64}, false},
		{"a named pipe", fileStat{typ: fs.ModeNamedPipe}, false},
	} {
		if got := ours(tc.st); got != tc.want {
			t.Errorf("%s: ours(%+v) = %v, want %v", tc.name, tc.st, got, tc.want)
		}
	}
}
