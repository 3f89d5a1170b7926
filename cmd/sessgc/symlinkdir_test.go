//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSymlinkedStoreDir: a store whose data/ or locks/ is a symlink (the
// records moved to another disk and linked back) is refused by run and
// stats, exit 3, saying which directory is a symlink. It said "store ...
// is not writable: open dir .../data: too many levels of symbolic links",
// which sent the operator to permissions and mount options.
func TestSymlinkedStoreDir(t *testing.T) {
	for _, sub := range []string{fsstore.DataDir, fsstore.LockDir} {
		t.Run(sub, func(t *testing.T) {
			st := newStore(t)
			st.save(2)
			moved := filepath.Join(t.TempDir(), "moved")
			if err := os.Rename(filepath.Join(st.dir, sub), moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, filepath.Join(st.dir, sub)); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"run", "--dir", st.dir}, {"stats", "--dir", st.dir}} {
				r := runCmd(t, command(args))
				want := sub + "/ is a symbolic link (to " + moved + ")"
				if r.code != 3 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "not writable") {
					t.Errorf("%v: exit %d, stderr %q; want 3 saying %q, and nothing of writing", args, r.code, r.stderr, want)
				}
			}
		})
	}
}
