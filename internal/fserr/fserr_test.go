package fserr_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/sessfs/sessfs/internal/fserr"
)

// TestClassify: each code of this system's table is matched wrapped as
// the store's errors wrap it (a PathError, a LinkError, %w), by its own
// function alone; other errors by neither.
func TestClassify(t *testing.T) {
	type tc struct {
		name              string
		err               error
		readOnly, noSpace bool
	}
	cases := []tc{
		{"nil", nil, false, false},
		{"not exist", &fs.PathError{Op: "open", Path: "/s/x", Err: fs.ErrNotExist}, false, false},
		{"permission", &fs.PathError{Op: "unlink", Path: "/s/x", Err: fs.ErrPermission}, false, false},
		{"plain", errors.New("read-only file system"), false, false},
	}
	for _, c := range fserr.ReadOnlyErrnos() {
		cases = append(cases,
			tc{"read-only " + c.Error(), &fs.PathError{Op: "unlink", Path: "/s/x", Err: c}, true, false},
			tc{"read-only link " + c.Error(), fmt.Errorf("sweep: %w", &os.LinkError{Op: "rename", Old: "/s/a", New: "/s/b", Err: c}), true, false})
	}
	for _, c := range fserr.NoSpaceErrnos() {
		cases = append(cases, tc{"full " + c.Error(), fmt.Errorf("save: %w", &fs.PathError{Op: "write", Path: "/s/x", Err: c}), false, true})
	}
	for _, c := range cases {
		if got := fserr.ReadOnly(c.err); got != c.readOnly {
			t.Errorf("%s: ReadOnly(%v) = %v, want %v", c.name, c.err, got, c.readOnly)
		}
		if got := fserr.NoSpace(c.err); got != c.noSpace {
			t.Errorf("%s: NoSpace(%v) = %v, want %v", c.name, c.err, got, c.noSpace)
		}
	}
}
