//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestDeleteFailingAfterRemoval: a Delete whose step fails after an
// earlier step removed the session's record reports ErrInDoubt, as a save
// whose record was published before its error does (a directory fsync
// that failed after the rename): the record may be gone, and a caller told
// of a clean failure would take the session for still there. A step that
// fails before anything was removed is no ErrInDoubt, and the record
// stays. The failure is a non-empty directory planted at the name a later
// step unlinks (EISDIR, or EPERM), after the step named. Before, every
// such Delete was a clean failure.
func TestDeleteFailingAfterRemoval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy lock.Strategy
		locked   bool
		after    string // the step after which the obstacle is planted; "" before the Delete
		plant    string // "temp", "gc" (the sweep's aside name) or "gd" (a locked Delete's)
		inDoubt  bool
	}{
		{"unlocked, before anything", lock.Flock, false, "", "temp", false},
		{"unlocked, after the name", lock.Flock, false, "name", "gc", true},
		{"unlocked, after the name, temp again", lock.Flock, false, "again", "temp", true},
		{"locked flock, after the name", lock.Flock, true, "name", "gc", true},
		{"locked lease, before anything", lock.Lease, true, "", "temp", false},
		{"locked lease, after the removal", lock.Lease, true, "aside", "gc", true},
		{"locked lease, after the removal, temp again", lock.Lease, true, "again", "temp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, err := fsstore.Open(dir, fsstore.WithLockStrategy(tc.strategy), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			id := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
			p := s.RecordPathForTest(id)
			name := map[string]string{
				"temp": ".tmp-" + filepath.Base(p) + ".locked",
				"gc":   ".tmp-gc-" + filepath.Base(p),
				"gd":   ".tmp-gd-" + filepath.Base(p),
			}[tc.plant]
			plant := func() {
				obstacle := filepath.Join(filepath.Dir(p), name)
				if err := os.Mkdir(obstacle, 0o700); err != nil {
					t.Error(err)
				}
				if err := os.WriteFile(filepath.Join(obstacle, "kept"), nil, 0o600); err != nil {
					t.Error(err)
				}
			}
			if tc.after == "" {
				plant()
			}
			s.SetDeleteHookForTest(func(step string) {
				if step == tc.after {
					plant()
				}
			})
			if tc.locked {
				l, err := s.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				err = l.Delete(ctx)
				l.Unlock()
				s.SetDeleteHookForTest(nil)
				checkPartialDelete(t, err, p, tc.inDoubt)
				return
			}
			err = s.Delete(ctx, id)
			s.SetDeleteHookForTest(nil)
			checkPartialDelete(t, err, p, tc.inDoubt)
		})
	}
}

func checkPartialDelete(t *testing.T, err error, p string, inDoubt bool) {
	t.Helper()
	if err == nil {
		t.Fatal("Delete succeeded past the planted directory")
	}
	if errors.Is(err, fsstore.ErrInDoubt) != inDoubt {
		t.Errorf("Delete: %v; want ErrInDoubt %v", err, inDoubt)
	}
	_, serr := os.Lstat(p)
	if inDoubt != errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the record after the Delete: %v; want it removed %v", serr, inDoubt)
	}
}
