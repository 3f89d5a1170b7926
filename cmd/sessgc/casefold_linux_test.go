package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestDirInsideStoreIgnoringCase: sessgc refuses, with exit 3 and also
// with --missing-ok, a store's data or lock directory named in another
// case where the file system ignores it (DATA is data there). A bind mount
// of data on DATA stands in for such a file system: DATA is then the data
// directory under another name, as a lookup ignoring case makes it. The
// empty data directory of a fresh store was taken for a fresh volume and
// --missing-ok exited 0.
func TestDirInsideStoreIgnoringCase(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to bind-mount")
	}
	for _, tc := range []struct {
		name string
		dir  string // the store's directory to name in another case
		args func(dir string) []string
	}{
		{"empty data directory, --missing-ok", fsstore.DataDir, func(dir string) []string { return []string{"--dir", dir, "--missing-ok"} }},
		{"lock directory, stats", fsstore.LockDir, func(dir string) []string { return []string{"stats", "--dir", dir} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			alias := filepath.Join(st.dir, strings.ToUpper(tc.dir))
			if err := os.Mkdir(alias, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount(filepath.Join(st.dir, tc.dir), alias, "", unix.MS_BIND, ""); err != nil {
				testenv.Skip(t, testenv.Root, "cannot bind-mount (no CAP_SYS_ADMIN in this container?): %v", err)
			}
			t.Cleanup(func() {
				if err := unix.Unmount(alias, unix.MNT_DETACH); err != nil {
					t.Errorf("unmount %s: %v", alias, err)
				}
			})
			args := tc.args(alias)
			before := snapshot(t, st.dir)
			r := runGC(t, args)
			const msg = "is part of a sessfs store"
			if r.code != 3 || !strings.Contains(r.stderr, msg) {
				t.Errorf("sessgc %s: exit %d, stderr %q; want exit 3 and %q", strings.Join(args, " "), r.code, r.stderr, msg)
			}
			if after := snapshot(t, st.dir); !equal(before, after) {
				t.Errorf("the store changed")
			}
		})
	}
}
