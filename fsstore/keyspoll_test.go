package fsstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileChangeWithoutEvent: a keys file can change without an event
// in any directory the watcher watches (the keys file's and its final
// target's). A symbolic link swapped in a directory between them
// (keys -> /opt/keys/current/keys, current -> v2, v1 kept, as a
// release-style deploy does), a write through a hard link in another
// directory, a keys file on NFS changed from another host: the host kept
// its old key set for good, a retired or leaked key too, with no error.
// The watcher reads the file on a timer as well, so the change is applied.
func TestKeysFileChangeWithoutEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup writes the first keys file under root and returns the
		// path to open; replace, at update gen, puts text there without an event in the
		// directories of that path and of the file it resolves to.
		setup   func(t *testing.T, root, text string) string
		replace func(t *testing.T, root, text string, gen int)
	}{
		{
			name: "symlink swapped between the path and its target",
			setup: func(t *testing.T, root, text string) string {
				mustWrite(t, filepath.Join(root, "opt", "v1", "keys"), text)
				symlinkOrSkip(t, "v1", filepath.Join(root, "opt", "current"))
				must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o700))
				must(t, os.Symlink(filepath.Join(root, "opt", "current", "keys"), filepath.Join(root, "etc", "keys")))
				return filepath.Join(root, "etc", "keys")
			},
			replace: func(t *testing.T, root, text string, gen int) {
				v := fmt.Sprintf("v%d", gen+1)
				mustWrite(t, filepath.Join(root, "opt", v, "keys"), text)
				must(t, os.Symlink(v, filepath.Join(root, "opt", "current.tmp")))
				must(t, os.Rename(filepath.Join(root, "opt", "current.tmp"), filepath.Join(root, "opt", "current")))
			},
		},
		{
			name: "written through a hard link in another directory",
			setup: func(t *testing.T, root, text string) string {
				mustWrite(t, filepath.Join(root, "etc", "keys"), text)
				must(t, os.MkdirAll(filepath.Join(root, "other"), 0o700))
				must(t, os.Link(filepath.Join(root, "etc", "keys"), filepath.Join(root, "other", "keys")))
				return filepath.Join(root, "etc", "keys")
			},
			replace: func(t *testing.T, root, text string, _ int) {
				writeFile0600(t, filepath.Join(root, "other", "keys"), text)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, root := t.TempDir(), t.TempDir()
			k1 := mustKey(t, 1)
			keysPath := tc.setup(t, root, keysFileText(k1))
			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev), fsstore.WithKeysPollForTest(10*time.Millisecond))
			must(t, err)
			defer s.Close()
			// Two updates: the first may be read by the watcher's first
			// look at the file, as it starts.
			for gen := 1; gen <= 2; gen++ {
				k := mustKey(t, uint32(gen+1))
				tc.replace(t, root, keysFileText(k, k1), gen)
				if !waitReloadOK(t, ev, time.Minute) {
					t.Fatalf("update %d: the keys file changed with no event in a watched directory: the change was never applied", gen)
				}
				mustSealWith(t, s, dir, k)
			}
		})
	}
}

// symlinkOrSkip makes a symbolic link, or skips the test where the user
// may not (Windows without developer mode).
func symlinkOrSkip(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("symlink: %v", err)
		}
		t.Fatal(err)
	}
}
