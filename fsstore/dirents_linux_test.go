package fsstore

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// dirent appends a linux_dirent64 record to b, padded to 8 bytes.
func dirent(b []byte, ino uint64, dt byte, name string) []byte {
	reclen := (direntNameOff + len(name) + 1 + 7) &^ 7
	rec := make([]byte, reclen)
	binary.NativeEndian.PutUint64(rec, ino)
	binary.NativeEndian.PutUint16(rec[direntReclenOff:], uint16(reclen))
	rec[direntTypeOff] = dt
	copy(rec[direntNameOff:], name)
	return append(b, rec...)
}

// TestEachDirent: the parse of getdents64's records skips what
// os.File.ReadDir skips, asks lstat for an entry of unknown type (leaving
// out one gone since), and answers a record that does not fit with an
// error, not a panic.
func TestEachDirent(t *testing.T) {
	var b []byte
	b = dirent(b, 1, unix.DT_DIR, ".")
	b = dirent(b, 1, unix.DT_DIR, "..")
	b = dirent(b, 2, unix.DT_REG, "0123456789abcdef0123456789abcdef")
	b = dirent(b, 0, unix.DT_REG, "deleted")
	b = dirent(b, 3, unix.DT_UNKNOWN, "unknown-dir")
	b = dirent(b, 4, unix.DT_UNKNOWN, "gone")
	b = dirent(b, 5, unix.DT_LNK, "link")
	b = dirent(b, 6, unix.DT_REG, "seven")
	lstat := func(name []byte) (fs.FileMode, error) {
		switch string(name) {
		case "unknown-dir":
			return fs.ModeDir, nil
		case "gone":
			return 0, &fs.PathError{Op: "lstat", Path: "gone", Err: unix.ENOENT}
		}
		return 0, errors.New("unexpected lstat of " + string(name))
	}
	var got []string
	collect := func(name []byte, typ fs.FileMode) { got = append(got, string(name)+" "+typ.String()) }
	if err := eachDirent(b, lstat, collect); err != nil {
		t.Fatal(err)
	}
	want := []string{"0123456789abcdef0123456789abcdef ----------", "unknown-dir d---------", "link L---------", "seven ----------"}
	if !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}

	lstatErr := errors.New("lstat failed")
	broken := map[string][]byte{
		"truncated record":   b[:len(b)-3],
		"short header":       b[:10],
		"reclen below fixed": func() []byte { c := slices.Clone(b); binary.NativeEndian.PutUint16(c[direntReclenOff:], 4); return c }(),
		"lstat error":        dirent(nil, 9, unix.DT_UNKNOWN, "x"),
	}
	for what, buf := range broken {
		ls := lstat
		if what == "lstat error" {
			ls = func([]byte) (fs.FileMode, error) { return 0, lstatErr }
		}
		err := eachDirent(buf, ls, func([]byte, fs.FileMode) {})
		if what == "lstat error" {
			if !errors.Is(err, lstatErr) {
				t.Errorf("%s: %v, want the lstat's error", what, err)
			}
		} else if !errors.Is(err, errBadDirent) {
			t.Errorf("%s: %v, want errBadDirent", what, err)
		}
	}
}

// TestLstatName: the sweep's stat of a listed name, from the stack, says
// what an lstat by string says: for a file, a symlink, a missing name, a
// name with a NUL, and one longer than the stack buffer.
func TestLstatName(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("l", 255)
	for _, name := range []string{"file", long} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("file", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	sd := shardDir{fd: fd, path: dir}
	for _, name := range []string{"file", long, "link", "missing", "fi\x00le"} {
		want, wantErr := sd.lstat(name)
		for call, f := range map[string]func([]byte) (fileStat, error){"lstatName": sd.lstatName, "lstatCachedName": sd.lstatCachedName} {
			got, err := f([]byte(name))
			if (err == nil) != (wantErr == nil) || err != nil && !errors.Is(err, errors.Unwrap(wantErr)) {
				t.Errorf("%s(%.20q): %v, want %v", call, name, err, wantErr)
				continue
			}
			if got != want {
				t.Errorf("%s(%.20q) = %+v, want lstat's %+v", call, name, got, want)
			}
		}
	}
}
