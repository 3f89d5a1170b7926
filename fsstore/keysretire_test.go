package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileRetireNeedsNoKeyCheck: retiring a key (a leaked one) must
// not wait for the store. A reload checked every key of the new set
// against its check file in the store, the keys it already used too, and
// a check that failed for want of the store (an I/O error on the mount, a
// check file it may no longer read) held the whole reload back: the
// retired key went on opening records, those an attacker holding it
// seals included, for as long as the check failed (for good, with a check
// file left unreadable). A key set that adds no key has nothing to check:
// its keys were checked when they came into use.
func TestKeysFileRetireNeedsNoKeyCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		// fail makes the key check of the store at dir fail for want of
		// the store from now on.
		fail func(t *testing.T, s *fsstore.Store, dir string)
	}{
		{
			name: "I/O error",
			fail: func(t *testing.T, s *fsstore.Store, _ string) {
				s.SetKeysCheckHookForTest(func() error { return fmt.Errorf("fsstore: key check: %w", syscall.EIO) })
			},
		},
		{
			name: "check file unreadable",
			fail: func(t *testing.T, _ *fsstore.Store, dir string) {
				// A symbolic link at a check file's name is refused, as a
				// file the store may not read is.
				p := filepath.Join(dir, ".keycheck-2")
				must(t, os.Rename(p, p+".moved"))
				symlinkOrSkip(t, p+".moved", p)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			keysPath := filepath.Join(t.TempDir(), "keys")
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			writeFile0600(t, keysPath, keysFileText(k2, k1))
			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
			must(t, err)
			defer s.Close()
			// A record sealed with the key about to be retired.
			leaked, err := fsstore.Open(dir, fsstore.WithKeys(k1))
			must(t, err)
			defer leaked.Close()
			id := newID(t)
			must(t, leaked.Save(ctx, &fsstore.Session{ID: id, Data: []byte("sealed with key 1")}))
			if _, err := s.Load(ctx, id); err != nil {
				t.Fatalf("before the retirement: %v", err)
			}

			tc.fail(t, s, dir)
			renameOver(t, keysPath, keysFileText(k2))
			if out := waitReload(t, ev); out != fsstore.OutcomeOK {
				t.Fatalf("reload retiring key 1 while the key check fails for want of the store: outcome %v, want ok: the retired key stays in use", out)
			}
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrUnknownKey) {
				t.Fatalf("record sealed with the retired key: Load = %v, want ErrUnknownKey", err)
			}
			if newest, ids := s.KeysInUseForTest(); newest != 2 || len(ids) != 1 {
				t.Fatalf("keys in use: newest %d of %v, want 2 of [2]", newest, ids)
			}
		})
	}
}
