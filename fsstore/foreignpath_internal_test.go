package fsstore

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// TestHideEntry: a listing's error naming an entry of the listed
// directory shows a foreign file's name as sessgc's listing of foreign
// files does (the session ID in another store's sess_ID left out), and
// the store's own names, and errors of other paths, whole; the error
// still matches its cause.
func TestHideEntry(t *testing.T) {
	dir := filepath.Join("/srv", "store", DataDir, "ab")
	rec := "ab" + "0123456789abcdef0123456789abcd"
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"another store's session", filepath.Join(dir, "sess_q3v9k2m7n1p8r4t6w0y5z2a7b4"), filepath.Join(dir, "sess_…")},
		{"an ID in a name", filepath.Join(dir, "django0f8e2d4c6b1a3957f0e1d2c3b4a59687.tmp"), filepath.Join(dir, "….tmp")},
		{"a record", filepath.Join(dir, rec), filepath.Join(dir, rec)},
		{"a record's copy", filepath.Join(dir, rec+".bak"), filepath.Join(dir, rec+".bak")},
		{"a temp file", filepath.Join(dir, tempPrefix+"0f8e2d4c6b1a3957f0e1d2c3b4a59687"), filepath.Join(dir, tempPrefix+"0f8e2d4c6b1a3957f0e1d2c3b4a59687")},
		{"a short name", filepath.Join(dir, "notes.txt"), filepath.Join(dir, "notes.txt")},
		{"not an entry of the directory", filepath.Join("/srv", "sess_q3v9k2m7n1p8r4t6w0y5z2a7b4"), filepath.Join("/srv", "sess_q3v9k2m7n1p8r4t6w0y5z2a7b4")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := hideEntry(dir, &fs.PathError{Op: "lstat", Path: tc.path, Err: syscall.EACCES})
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != tc.want || pe.Op != "lstat" || !errors.Is(err, fs.ErrPermission) {
				t.Errorf("hideEntry: %v; want lstat of %s, matching fs.ErrPermission", err, tc.want)
			}
		})
	}
}
