//go:build unix

package pass

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenStoreNoStore: only a missing or empty directory matches
// ErrNoStore; its error keeps the message and exit code it had before.
func TestOpenStoreNoStore(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) // nil: dir does not exist
		noStore bool
		code    int
		msg     string
	}{
		{name: "missing", noStore: true, code: cmdutil.ExitStore, msg: "does not exist"},
		{name: "empty", setup: func(t *testing.T, dir string) { mkdir(t, dir) }, noStore: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "a file", setup: func(t *testing.T, dir string) { mkdir(t, dir); touch(t, filepath.Join(dir, "x")) }, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "an empty directory", setup: func(t *testing.T, dir string) { mkdir(t, dir); mkdir(t, filepath.Join(dir, fsstore.LockDir)) }, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "bad marker", setup: func(t *testing.T, dir string) { mkdir(t, dir); touch(t, filepath.Join(dir, fsstore.MarkerFile)) }, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "not a directory", setup: func(t *testing.T, dir string) { touch(t, dir) }, code: cmdutil.ExitStore, msg: "is not a directory"},
		{name: "a store", setup: func(t *testing.T, dir string) {
			mkdir(t, dir)
			s, err := fsstore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			s, err := OpenStore(dir)
			if err == nil {
				s.Close()
			}
			if errors.Is(err, ErrNoStore) != tc.noStore || cmdutil.ExitCode(err) != tc.code || err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v: want ErrNoStore %v, exit %d, %q", err, tc.noStore, tc.code, tc.msg)
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
