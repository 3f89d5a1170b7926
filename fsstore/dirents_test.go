//go:build linux || darwin || freebsd

package fsstore

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestForEachNameMatchesReadDir: the sweep's listing (on Linux getdents64
// into a buffer of its own, elsewhere forEachEntry) gives every entry's
// name and type as os.File.ReadDir does, across many refills of a small
// buffer and with the default one, and nothing for a directory that is
// not there.
func TestForEachNameMatchesReadDir(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%032x", rand.Uint64()+uint64(i))), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{".tmp-x", strings.Repeat("n", 255), "é"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, e.Name()+" "+e.Type().String())
	}
	slices.Sort(want)

	r, err := openRoot(top)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	list := func(dir string, buf []byte) ([]string, error) {
		var got []string
		err := r.forEachName(context.Background(), dir, buf, func(name []byte, typ fs.FileMode) {
			got = append(got, string(name)+" "+typ.String())
		})
		slices.Sort(got)
		return got, err
	}
	for _, size := range []int{300, direntBufSize} {
		got, err := list(dir, make([]byte, size))
		if err != nil {
			t.Fatalf("buffer of %d bytes: %v", size, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("buffer of %d bytes: %d entries, want ReadDir's %d; first differing: %q",
				size, len(got), len(want), firstDiff(got, want))
		}
	}
	// The portable path, forEachEntry, as the sweep used it before.
	var portable []string
	if err := r.forEachEntry(context.Background(), dir, func(e fs.DirEntry) {
		portable = append(portable, e.Name()+" "+e.Type().String())
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(portable)
	if !slices.Equal(portable, want) {
		t.Errorf("forEachEntry: %q differs from ReadDir", firstDiff(portable, want))
	}
	if got, err := list(filepath.Join(top, "missing"), make([]byte, direntBufSize)); err != nil || len(got) != 0 {
		t.Errorf("missing directory: %q, %v; want nothing, nil", got, err)
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " / " + b[i]
		}
	}
	return "(one is a prefix of the other)"
}
