//go:build unix

package lock_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRelativePathsOutliveSymlinkSwap: a relative path names what it
// named in the working directory of the call, also when the process
// reached that directory through a symlink that is later pointed
// elsewhere, as a release deploy does with its "current" link. The
// process never changes directory; its relative paths still name the
// old release. Anchored on $PWD (the link's name), they turned to the
// new release: Verify of a FileLock reported its lock lost ("the lock
// file was removed") and a LeaseDir looked in the new release's
// directory.
func TestRelativePathsOutliveSymlinkSwap(t *testing.T) {
	for _, tc := range relativeHolders() {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			for _, rel := range []string{"v1", "v2"} {
				if err := os.MkdirAll(filepath.Join(base, "releases", rel, "locks"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			current := filepath.Join(base, "current")
			if err := os.Symlink(filepath.Join("releases", "v1"), current); err != nil {
				t.Fatal(err)
			}
			// As a shell's cd does: $PWD names the link.
			t.Chdir(current)
			check, release := tc.hold(t)
			defer release()
			// The deploy: the link now names the next release, swapped
			// in by a rename as deploy tools do.
			next := filepath.Join(base, "current.next")
			if err := os.Symlink(filepath.Join("releases", "v2"), next); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(next, current); err != nil {
				t.Fatal(err)
			}
			if err := check(); err != nil {
				t.Errorf("after the link the working directory was reached by moved on: %v", err)
			}
			if ents, _ := os.ReadDir(filepath.Join(base, "releases", "v2", "locks")); len(ents) != 0 {
				t.Errorf("the lock made %s in the directory the link names now", ents[0].Name())
			}
		})
	}
}
