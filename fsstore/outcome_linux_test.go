//go:build linux

package fsstore_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// A full or read-only file system is reported under its own outcome by a
// real save, on a real (tmpfs) mount: what the alerts on no_space and
// read_only_fs watch.
func TestFileSystemOutcomesObserved(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  string
		setup func(t *testing.T, dir string)
		data  []byte
		want  string // the label, as dashboards and alerts see it
	}{
		{"full", "64k", func(*testing.T, string) {}, bytes.Repeat([]byte("x"), 256<<10), "no_space"},
		{"read-only", "1m", func(t *testing.T, dir string) {
			remount(t, dir, syscall.MS_RDONLY)
			t.Cleanup(func() { remount(t, dir, 0) })
		}, []byte("x"), "read_only_fs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.MountTmpfs(t, tc.size)
			rec := &recorder{}
			s := openDir(t, dir, fsstore.WithObserver(rec), fsstore.WithMaxSize(1<<20))
			tc.setup(t, dir)
			if err := s.Save(context.Background(), &fsstore.Session{ID: newID(t), Data: tc.data}); err == nil {
				t.Fatal("Save succeeded")
			} else {
				t.Logf("Save: %v", err)
			}
			if got := rec.outcome(fsstore.OpSave).String(); got != tc.want {
				t.Fatalf("Save observed as %s, want %s", got, tc.want)
			}
		})
	}
}
