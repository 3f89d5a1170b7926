//go:build unix

package fstab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnmountedShareMountBelow: a directory below a mount point that
// fstab lists and nothing is mounted on is no unmounted share when a file
// system is mounted on it or between it and that point: a container's
// volume below a mount point of the fstab its image brought along, or a
// share mounted by hand or by an autofs map below a disk that failed to
// mount. Refused, the application could not start on its volume; with
// nothing mounted in between it is refused as before.
func TestUnmountedShareMountBelow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mounted string // MNT stands for the fstab entry's mount point; "" for none
		dir     string
		refused bool
	}{
		{name: "nothing mounted", dir: "MNT/app/sessions", refused: true},
		{name: "a volume on the directory", mounted: "MNT/app/sessions", dir: "MNT/app/sessions"},
		{name: "a volume between", mounted: "MNT/app", dir: "MNT/app/sessions"},
		{name: "a volume between, the directory missing", mounted: "MNT/app", dir: "MNT/app/missing/sessions"},
		{name: "a mount beside", mounted: "MNT/other", dir: "MNT/app/sessions", refused: true},
		{name: "a mount above the entry's point", mounted: "ROOT", dir: "MNT/app/sessions", refused: true},
		{name: "the entry's point itself, dir below", mounted: "MNT", dir: "MNT/app/sessions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mnt := filepath.Join(root, "mnt")
			if err := os.MkdirAll(filepath.Join(mnt, "app", "sessions"), 0o700); err != nil {
				t.Fatal(err)
			}
			tab := filepath.Join(root, "fstab")
			if err := os.WriteFile(tab, []byte("/dev/sdb1 "+mnt+" xfs defaults,nofail 0 2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := strings.NewReplacer("MNT", mnt, "ROOT", root)
			mounted := r.Replace(tc.mounted)
			h := Hosts{Fstab: tab, Mounted: func(p string) bool { return tc.mounted != "" && p == mounted }}
			why := h.UnmountedShare(r.Replace(tc.dir))
			if refused := why != ""; refused != tc.refused {
				t.Errorf("UnmountedShare(%s) with %q mounted = %q; want refused %v", tc.dir, tc.mounted, why, tc.refused)
			}
		})
	}
}
