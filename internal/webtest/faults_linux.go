//go:build linux

package webtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// SmallStore opens a store on a tmpfs of 1 MiB of its own, closed at the
// end of t, and returns it with a function that fills that file system
// (for BadCookieAndFullDisk). It skips t where a tmpfs cannot be mounted.
func SmallStore(t *testing.T) (st *fsstore.Store, fill func() (free func())) {
	t.Helper()
	mnt := testenv.MountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, func() func() { return testenv.FillUp(t, mnt) }
}
