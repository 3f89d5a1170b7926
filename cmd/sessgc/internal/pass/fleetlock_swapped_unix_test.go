//go:build unix

package pass

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
)

// TestFleetLockNotThroughSwappedLockDir: a store's locks/ replaced by a
// symlink to a directory outside the store after the store was opened (by
// a writer of the store directory) fails the pass's fleet lock, exit 3,
// and creates no file in the link's target. The lock file was opened by
// path, through the link: the pass created and locked its fleet lock out
// there, and ran.
func TestFleetLockNotThroughSwappedLockDir(t *testing.T) {
	storetest.Skip(t)
	dir := t.TempDir()
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	outside := t.TempDir()
	locks := filepath.Join(dir, fsstore.LockDir)
	if err := os.Rename(locks, filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, locks); err != nil {
		t.Fatal(err)
	}
	ran := false
	_, err = Run(context.Background(), s, Limits{LockName: ".sessgc"}, func(context.Context) error {
		ran = true
		return nil
	})
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files made in the symlink's target: %v", ents)
	}
	if ran || cmdutil.ExitCode(err) != cmdutil.ExitStore {
		t.Errorf("ran %v, err %v (exit %d); want the fleet lock refused, exit %d", ran, err, cmdutil.ExitCode(err), cmdutil.ExitStore)
	}
}
