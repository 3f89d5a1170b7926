package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestPermissionsSetgid opens stores with the directory modes
// WithPermissions accepts and refuses. The shared-group mode it documents,
// 2770 in either notation, must open; the store's directories then take
// the setgid bit from the top directory, as its doc says.
func TestPermissionsSetgid(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  fs.FileMode
		ok   bool
	}{
		{"0700", 0o700, true},
		{"unix 02770", 0o2770, true},
		{"go setgid 0770", fs.ModeSetgid | 0o770, true},
		{"setuid", 0o4770, false},
		{"sticky", 0o1770, false},
		{"go sticky", fs.ModeSticky | 0o770, false},
		{"no owner write", 0o2550, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			if runtime.GOOS != "windows" {
				if err := os.Chmod(top, fs.ModeSetgid|0o770); err != nil {
					t.Fatal(err)
				}
			}
			s, err := fsstore.Open(top, fsstore.WithPermissions(0o660, tc.dir))
			if !tc.ok {
				if err == nil {
					s.Close()
					t.Fatalf("Open accepted directory mode %v", tc.dir)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open with directory mode %v: %v", tc.dir, err)
			}
			defer s.Close()
			id := newID(t)
			if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "linux" {
				return
			}
			shard, err := os.Stat(filepath.Dir(s.RecordPathForTest(id)))
			if err != nil {
				t.Fatal(err)
			}
			if shard.Mode()&fs.ModeSetgid == 0 {
				t.Errorf("shard directory mode %v: the setgid bit of the top directory was not inherited", shard.Mode())
			}
		})
	}
}
