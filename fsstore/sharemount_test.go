//go:build unix

package fsstore_test

import (
	"errors"
	"io/fs"
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
