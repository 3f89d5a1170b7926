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
// such Delete was a clean failure. Once the obstacle is gone, the Delete
// retried (as a client retries a log out answered 504) succeeds and the
// session is gone; a Delete of a session that was never saved fails
// cleanly, having removed nothing; and a record a sweep holds aside is
// classified as one under its name.
func TestDeleteFailingAfterRemoval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy lock.Strategy
		locked   bool
		after    string // the step after which the obstacle is planted; "" before the Delete
		plant    string // "temp", "gc" (the sweep's aside name) or "gd" (a locked Delete's)
		inDoubt  bool
		absent   bool // no record saved before the Delete
		aside    bool // the record moved to the sweep's aside name before the Delete
	}{
		{"unlocked, temp file planted before", lock.Flock, false, "", "temp", true, false, false},
		{"unlocked, after the name", lock.Flock, false, "name", "gc", true, false, false},
		{"unlocked, after the name, temp again", lock.Flock, false, "again", "temp", true, false, false},
		{"locked flock, after the name", lock.Flock, true, "name", "gc", true, false, false},
		{"locked lease, before anything", lock.Lease, true, "", "temp", false, false, false},
		{"locked lease, after the removal", lock.Lease, true, "aside", "gc", true, false, false},
		{"locked lease, after the removal, temp again", lock.Lease, true, "again", "temp", true, false, false},
		{"unlocked, nothing there", lock.Flock, false, "name", "gc", false, true, false},
		{"locked lease, nothing there", lock.Lease, true, "name check", "gc", false, true, false},
		{"unlocked, aside, after the aside name", lock.Flock, false, "aside", "gd", true, false, true},
		{"unlocked, aside, temp file planted before", lock.Flock, false, "", "temp", true, false, true},
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
			if !tc.absent {
				must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
			}
			p := s.RecordPathForTest(id)
			names := map[string]string{
				"temp": ".tmp-" + filepath.Base(p) + ".locked",
				"gc":   ".tmp-gc-" + filepath.Base(p),
				"gd":   ".tmp-gd-" + filepath.Base(p),
			}
			name := names[tc.plant]
			copyAt := p // where the record is before the Delete
			if tc.aside {
				copyAt = filepath.Join(filepath.Dir(p), names["gc"])
				must(t, os.Rename(p, copyAt))
			}
			obstacle := filepath.Join(filepath.Dir(p), name)
			plant := func() {
				// The record's directory, which a session never saved lacks.
				if err := os.MkdirAll(filepath.Dir(obstacle), 0o700); err != nil {
					t.Error(err)
				}
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
				l, lerr := s.Lock(ctx, id, fsstore.Exclusive)
				if lerr != nil {
					t.Fatal(lerr)
				}
				err = l.Delete(ctx)
				l.Unlock()
			} else {
				err = s.Delete(ctx, id)
			}
			s.SetDeleteHookForTest(nil)
			checkPartialDelete(t, err, copyAt, tc.inDoubt, tc.inDoubt || tc.absent)
			if errors.Is(err, fsstore.ErrInDoubt) != tc.inDoubt {
				return
			}
			// A locked Delete moves the sweep's aside name to its own
			// before the unlink that fails: the obstacle may be at either.
			for _, n := range names {
				must(t, os.RemoveAll(filepath.Join(filepath.Dir(p), n)))
			}
			if err := s.Delete(ctx, id); err != nil {
				t.Fatalf("Delete again, the obstacle gone: %v", err)
			}
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load after the Delete retried: %v; want ErrNotFound", err)
			}
		})
	}
}

// checkPartialDelete checks the failed Delete's error, and that the record
// is gone exactly when gone.
func checkPartialDelete(t *testing.T, err error, p string, inDoubt, gone bool) {
	t.Helper()
	if err == nil {
		t.Fatal("Delete succeeded past the planted directory")
	}
	if errors.Is(err, fsstore.ErrInDoubt) != inDoubt {
		t.Errorf("Delete: %v; want ErrInDoubt %v", err, inDoubt)
	}
	_, serr := os.Lstat(p)
	if gone != errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the record after the Delete: %v; want it removed %v", serr, gone)
	}
}
