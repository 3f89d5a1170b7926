//go:build unix

package fsstore_test

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenBelowUnmountedShare: Open does not create a store in an empty
// directory below a mount point that fstab lists and that nothing is
// mounted on (the share failed to mount; the directory, made before the
// mount by install -d, is on the local disk below it): it fails with
// ErrShareNotMounted, saying what to do, and leaves the directory empty.
// Mounted, not in fstab, or without an fstab, the store is created; a
// store already there keeps opening, as the check is made only when one is
// created.
func TestOpenBelowUnmountedShare(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fstab    string // MNT stands for the mount point; "" for no fstab file
		mounted  bool
		existing bool // a store is there already
		missing  bool // the directory is not there
		refused  bool
	}{
		{name: "below an unmounted share", fstab: "fs-1.efs.eu-west-1.amazonaws.com:/ MNT nfs4 nfsvers=4.1,hard,_netdev 0 0", refused: true},
		{name: "missing below an unmounted share", fstab: "fs-1.efs.eu-west-1.amazonaws.com:/ MNT nfs4 nfsvers=4.1,hard,_netdev 0 0", missing: true, refused: true},
		{name: "mounted", fstab: "server:/export MNT nfs4 defaults 0 0", mounted: true},
		{name: "not in fstab", fstab: "/dev/vda1 / ext4 defaults 0 1\nserver:/ MNT-other nfs4 defaults 0 0"},
		{name: "noauto, left unmounted on purpose", fstab: "server:/export MNT nfs4 noauto 0 0"},
		{name: "no fstab"},
		{name: "a store already there", fstab: "server:/export MNT nfs4 defaults 0 0", existing: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			mnt := filepath.Join(tmp, "mnt")
			dir := filepath.Join(mnt, "sessions")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.missing {
				dir = filepath.Join(dir, "missing")
			}
			if tc.existing {
				st, err := fsstore.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
			}
			fstabFile := filepath.Join(tmp, "fstab")
			if tc.fstab != "" {
				if err := os.WriteFile(fstabFile, []byte(strings.ReplaceAll(tc.fstab, "MNT", mnt)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			st, err := fsstore.Open(dir, fsstore.WithMountsForTest(fstabFile, func(string) bool { return tc.mounted }))
			if !tc.refused {
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				return
			}
			if err == nil {
				st.Close()
				t.Fatal("created a store below an unmounted share")
			}
			want := mnt + ", which " + fstabFile + " mounts (nfs4 fs-1.efs.eu-west-1.amazonaws.com:/), is not mounted on this host: mount it"
			if !errors.Is(err, fsstore.ErrShareNotMounted) || !strings.Contains(err.Error(), want) || errors.Is(err, fs.ErrNotExist) != tc.missing {
				t.Errorf("err %v\nwant ErrShareNotMounted and %q (and fs.ErrNotExist %v)", err, want, tc.missing)
			}
			if tc.missing {
				if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the refused Open made the directory: %v", err)
				}
				return
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("the refused Open left %d entries in the directory (%s, ...)", len(left), left[0].Name())
			}
		})
	}
}

// TestOpenBelowMisreadFstabLine: an fstab line whose fields are separated
// by no-break spaces (pasted from a web page) is no entry to mount(8), so
// nothing mounts the share, and Open, reading fstab as mount does, created
// a store on the local disk below its mount point without a word. It
// still creates it (the looser reading is a guess), but warns, naming the
// line; a missing directory's error names it in place of the generic
// advice. Mounted, nothing is said.
func TestOpenBelowMisreadFstabLine(t *testing.T) {
	for _, tc := range []struct {
		name             string
		mounted, missing bool
	}{
		{name: "empty directory"},
		{name: "missing directory", missing: true},
		{name: "mounted", mounted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			mnt := filepath.Join(tmp, "mnt")
			dir := filepath.Join(mnt, "sessions")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.missing {
				dir = filepath.Join(dir, "missing")
			}
			fstabFile := filepath.Join(tmp, "fstab")
			if err := os.WriteFile(fstabFile, []byte("server:/export\u00a0"+mnt+"\u00a0nfs4\u00a0defaults\u00a00\u00a00\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var logged strings.Builder
			want := fstabFile + " line 1 names " + mnt + " (nfs4 server:/export) only if split at a no-break space (U+00A0)"
			st, err := fsstore.Open(dir, fsstore.WithMountsForTest(fstabFile, func(string) bool { return tc.mounted }),
				fsstore.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if tc.missing {
				if err == nil {
					st.Close()
					t.Fatal("opened a missing directory")
				}
				if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), want) {
					t.Errorf("err %v\nwant fs.ErrNotExist and %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			if warned := strings.Contains(logged.String(), "level=WARN") && strings.Contains(logged.String(), want); warned == tc.mounted {
				t.Errorf("warned %v, want %v; logged:\n%s", warned, !tc.mounted, logged.String())
			}
		})
	}
}
