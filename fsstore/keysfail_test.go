package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileReloadFailuresKeepKeys: what operators and their tools do to
// a keys file that leaves no usable key set at the path (it is removed,
// emptied, given to group and others to read, made unreadable, given a key
// twice) must leave the keys in use as they are, report a failed reload,
// and never make the store seal with fewer keys or none; once the file is
// right again, it is applied. A file with CRLF line ends, a byte-order
// mark and trailing blanks, as Windows editors save it, is a key set.
func TestKeysFileReloadFailuresKeepKeys(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	good := keysFileText(k2, k1)
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, path string)
	}{
		{"removed", func(t *testing.T, path string) { must(t, os.Remove(path)) }},
		{"emptied", func(t *testing.T, path string) { must(t, os.Truncate(path, 0)) }},
		{"made readable by others", func(t *testing.T, path string) { must(t, os.Chmod(path, 0o644)) }},
		{"made unreadable", func(t *testing.T, path string) {
			if runtime.GOOS == "windows" || os.Geteuid() == 0 {
				t.Skip("the mode does not keep this user out")
			}
			must(t, os.Chmod(path, 0))
		}},
		{"a key twice", func(t *testing.T, path string) { renameOver(t, path, keysFileText(k2, k1, k1)) }},
		{"a directory", func(t *testing.T, path string) {
			must(t, os.Remove(path))
			must(t, os.Mkdir(path, 0o700))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A store and a keys file of its own, each case waiting
			// for its watcher's reloads: side by side.
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			keysPath := filepath.Join(t.TempDir(), "keys")
			writeFile0600(t, keysPath, good)
			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
			must(t, err)
			defer s.Close()
			old := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: old, Data: []byte("x")}))

			tc.mutate(t, keysPath)
			if out := waitReload(t, ev); out == fsstore.OutcomeOK {
				t.Fatalf("reload of a keys file %s: outcome ok", tc.name)
			}
			newest, ids := s.KeysInUseForTest()
			if newest != 2 || len(ids) != 2 {
				t.Fatalf("keys file %s: keys in use: newest %d of %v, want 2 of [1 2]", tc.name, newest, ids)
			}
			mustSealWith(t, s, dir, k2)
			if _, err := s.Load(ctx, old); err != nil {
				t.Fatalf("keys file %s: record saved before: %v", tc.name, err)
			}

			// Put right, with Windows line ends: applied.
			os.RemoveAll(keysPath)
			k3 := mustKey(t, 3)
			text := "\ufeff" + strings.ReplaceAll(keysFileText(k3, k2, k1), "\n", " \t\r\n")
			renameOver(t, keysPath, text)
			if !waitReloadOK(t, ev, 30e9) {
				t.Fatalf("keys file %s, then put right: never applied", tc.name)
			}
			mustSealWith(t, s, dir, k3)
		})
	}
}
