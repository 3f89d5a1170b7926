package fsstore_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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
			var log strings.Builder
			s, err := fsstore.Open(top, fsstore.WithPermissions(0o660, tc.dir), fsstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
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
			if strings.Contains(log.String(), "not setgid") {
				t.Errorf("warned of a top directory that is not setgid: %s", log.String())
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

// TestPermissionsSetgidWarns opens a store whose top directory is not
// setgid with a setgid directory mode: its directories will not get the
// shared group, and Open says so in the log rather than nothing at all.
func TestPermissionsSetgidWarns(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no setgid directories on Windows")
	}
	var log strings.Builder
	s, err := fsstore.Open(t.TempDir(), fsstore.WithPermissions(0o660, 0o2770), fsstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(log.String(), "not setgid") {
		t.Errorf("no warning of a top directory that is not setgid; log: %q", log.String())
	}
}
