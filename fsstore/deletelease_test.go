//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestLostLockDeleteKeepsNextHoldersRecord: a Locked.Delete whose lease
// is broken right after its first check (its lease file removed, as a
// breaker replaces a lease that lapsed), while another holder takes the
// lock over and saves, finds that holder's record under the name it then
// moves aside. Whatever the next holder does while the record is aside
// (loads it, saves again, deletes it, touches it, nothing), the Delete
// must leave the next holder's work as it left it and fail with
// ErrLockLost and not ErrInDoubt (it removed nothing); the copy it leaves
// aside, the sweep settles. The
// process-level counterpart, with SIGSTOP and a lease that lapses, is
// TestLeaseStoppedHolderDeleteFenced; this one covers the next holder's
// moves in the instant the record is aside, and
// TestLostLockDeleteBesideSweep a sweep's in the same instant.
func TestLostLockDeleteKeepsNextHoldersRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		// act is the next holder's, while the record is aside.
		act  func(ctx context.Context, l *fsstore.Locked) error
		want string // the record afterwards; "" none
		// inDoubt: the Delete reports ErrInDoubt (it removed nothing in
		// any case here: it leaves the copy it moved aside for the sweep).
		inDoubt bool
	}{
		{"nothing", nil, "B", false},
		{"load", func(ctx context.Context, l *fsstore.Locked) error {
			sess, err := l.Load(ctx)
			if err == nil && string(sess.Data) != "B" {
				return fmt.Errorf("loaded %q, want %q", sess.Data, "B")
			}
			return err
		}, "B", false},
		{"save", func(ctx context.Context, l *fsstore.Locked) error {
			sess, err := l.Load(ctx)
			if err != nil {
				return err
			}
			sess.Data = []byte("B2")
			return l.Save(ctx, sess)
		}, "B2", false},
		{"touch", func(ctx context.Context, l *fsstore.Locked) error { return l.Touch(ctx) }, "B", false},
		{"delete", func(ctx context.Context, l *fsstore.Locked) error { return l.Delete(ctx) }, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newLostLock(t, nil)
			dir, a, b, id, la := s.dir, s.a, s.b, s.id, s.la
			if _, err := la.Load(ctx); err != nil {
				t.Fatal(err)
			}
			var actErr error
			a.SetDeleteHookForTest(func(step string) {
				switch step {
				case "temp":
					// Past the Delete's check: its lease is broken, and
					// the next holder takes the lock and saves.
					if s.lb = takeOverAndSave(t, dir, a, b, id, "B"); s.lb == nil {
						return
					}
				case "name":
					if tc.act != nil && s.lb != nil {
						actErr = tc.act(ctx, s.lb)
					}
				}
			})
			err := la.Delete(ctx)
			a.SetDeleteHookForTest(nil)
			if t.Failed() {
				return
			}
			if actErr != nil {
				t.Errorf("next holder's %s while the Delete under the lost lock held its record aside: %v", tc.name, actErr)
			}
			if !errors.Is(err, fsstore.ErrLockLost) || errors.Is(err, fsstore.ErrInDoubt) != tc.inDoubt {
				t.Errorf("Delete under a lock lost before it removed anything: %v; want ErrLockLost, and ErrInDoubt %v", err, tc.inDoubt)
			}
			if err := s.lb.Unlock(); err != nil {
				t.Errorf("next holder's Unlock: %v (its lease removed?)", err)
			}
			if tc.want == "" {
				if got, err := b.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
					t.Errorf("after the next holder's Delete: %v, %v; want ErrNotFound", nfsData(got), err)
				}
			} else {
				mustLoad(t, b, id, tc.want)
			}
			// The copy the Delete left aside, the sweep settles: put
			// back, or gone as older than the next holder's record.
			if _, err := b.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				mustLoad(t, b, id, tc.want)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(b.RecordPathForTest(id)), ".tmp-*")); len(left) != 0 {
				t.Errorf("left in the shard: %v", left)
			}
		})
	}
}

// lockedSaveIn loads the session l holds (a new one if there is none) and
// saves data under l.
func lockedSaveIn(ctx context.Context, l *fsstore.Locked, data string) error {
	sess, err := l.Load(ctx)
	if errors.Is(err, fsstore.ErrNotFound) {
		sess, err = &fsstore.Session{ID: l.ID()}, nil
	}
	if err != nil {
		return err
	}
	sess.Data = []byte(data)
	return l.Save(ctx, sess)
}

// TestLostLockDeleteErrorSaysWhatItDid: a Locked.Delete that finds its
// lock lost after it removed a record (ErrInDoubt) says so, and where it
// left the copy it moved last, in the past: the next holder may delete
// that copy, or a sweep settle it, before anyone reads the error. Seen on
// the old code: "nothing was deleted: the record it moved aside is left
// at …, for the sweep to put back", then "the record this holder had was
// removed", in one error.
//   - "again": the next holder saved after the Delete removed the record,
//     and the Delete's look at the name again moved that save aside.
//   - "sweep aside": a sweep held the next holder's save aside, and the
//     Delete's move of it replaced the record it had moved from the name.
func TestLostLockDeleteErrorSaysWhatItDid(t *testing.T) {
	for _, step := range []string{"again", "sweep aside"} {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			s := newLostLock(t, nil)
			dir, a, b, id, la := s.dir, s.a, s.b, s.id, s.la
			p := a.RecordPathForTest(id)
			at := "aside" // after the copy of the name was removed
			if step == "sweep aside" {
				at = "name check"
			}
			a.SetDeleteHookForTest(func(hook string) {
				if hook != at {
					return
				}
				if s.lb = takeOverAndSave(t, dir, a, b, id, "B"); s.lb == nil {
					return
				}
				if step == "sweep aside" {
					if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
						t.Error(err)
					}
				}
			})
			err := la.Delete(ctx)
			a.SetDeleteHookForTest(nil)
			if t.Failed() {
				return
			}
			gd := ".tmp-gd-" + filepath.Base(p)
			if !errors.Is(err, fsstore.ErrLockLost) || !errors.Is(err, fsstore.ErrInDoubt) ||
				strings.Contains(err.Error(), "nothing was deleted") || strings.Contains(err.Error(), "is left at") || !strings.Contains(err.Error(), gd) {
				t.Errorf("Delete, lock lost after it removed a record: %v; want ErrLockLost and ErrInDoubt, where it left the copy (%s), and not that nothing was deleted", err, gd)
			}
			mustLoad(t, b, id, "B") // at the Delete's aside name, until the sweep puts it back
			if _, err := b.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, b, id, "B")
		})
	}
}

// lostLock is the start of the tests of a Locked.Delete whose lease is
// lost: two stores on one new directory with the lease strategy, a, whose
// lock is lost, and b, the next holder's; a session, and a's lock on it.
type lostLock struct {
	dir  string
	a, b *fsstore.Store
	id   string
	la   *fsstore.Locked // a's lock on id
	lb   *fsstore.Locked // b's, once the test has it take the lock over
}

// newLostLock sets up a lostLock whose session seed puts in place before
// a locks it (nil: a saves it, "old"). Both locks are unlocked when the
// test ends, the next holder's first.
func newLostLock(t *testing.T, seed func(a *fsstore.Store, id string)) *lostLock {
	t.Helper()
	dir := t.TempDir()
	s := &lostLock{dir: dir, a: openDir(t, dir, fsstore.WithLockStrategy(lock.Lease)), b: openDir(t, dir, fsstore.WithLockStrategy(lock.Lease)), id: newID(t)}
	if seed == nil {
		mustSave(t, s.a, s.id, "old")
	} else {
		seed(s.a, s.id)
	}
	la, err := s.a.Lock(context.Background(), s.id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	s.la = la
	t.Cleanup(func() {
		if s.lb != nil {
			s.lb.Unlock()
		}
		la.Unlock()
	})
	return s
}

// takeOverAndSave breaks a's lease on the session id in the store at dir,
// as a holder stopped past it loses it, and has b, the next holder, take
// the lock and save data under it. It returns b's lock, to be unlocked,
// or nil after an error (reported with t.Error: it runs in a hook).
func takeOverAndSave(t *testing.T, dir string, a, b *fsstore.Store, id, data string) *fsstore.Locked {
	ctx := context.Background()
	if err := os.Remove(filepath.Join(dir, "locks", a.StripeForTest(id)+".lease")); err != nil {
		t.Error(err)
		return nil
	}
	lb, err := b.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Error(err)
		return nil
	}
	if err := lockedSaveIn(ctx, lb, data); err != nil {
		t.Errorf("next holder's save: %v", err)
	}
	return lb
}

// TestLostLockDeleteAtLastCheck: a Locked.Delete that finds its lock lost
// only at its last check, after every step, is in doubt (ErrInDoubt too)
// when it removed a copy of the record: the next holder may have read it
// meanwhile. One that found no copy anywhere removed nothing, whatever the
// next holder did meanwhile (here: saved the session), and fails with
// ErrLockLost alone, as a Delete that found its lock lost before removing
// anything does. It said "deleted, but" and ErrInDoubt for both. The
// copy may have been anywhere: at the record's name, under the sweep's
// aside name, or under a locked Delete's aside name (left by one killed
// there). A fenced temp file, the only file the session had, is no copy:
// its save failed, and the Delete deleted nothing.
func TestLostLockDeleteAtLastCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    func(rec string) string // where the session's only file is; nil: it has none
		inDoubt bool
	}{
		{"record removed", func(rec string) string { return rec }, true},
		{"no record", nil, false},
		{"sweep aside", func(rec string) string { return ".tmp-gc-" + rec }, true},
		{"delete aside", func(rec string) string { return ".tmp-gd-" + rec }, true},
		{"fenced temp", func(rec string) string { return ".tmp-" + rec + ".locked" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newLostLock(t, func(a *fsstore.Store, id string) {
				if tc.file == nil {
					return
				}
				mustSave(t, a, id, "old")
				p := a.RecordPathForTest(id)
				if err := os.Rename(p, filepath.Join(filepath.Dir(p), tc.file(filepath.Base(p)))); err != nil {
					t.Fatal(err)
				}
			})
			dir, a, b, id, la := s.dir, s.a, s.b, s.id, s.la
			a.SetDeleteHookForTest(func(step string) {
				if step == "temp again" {
					s.lb = takeOverAndSave(t, dir, a, b, id, "B")
				}
			})
			err := la.Delete(ctx)
			a.SetDeleteHookForTest(nil)
			if t.Failed() {
				return
			}
			if !errors.Is(err, fsstore.ErrLockLost) || errors.Is(err, fsstore.ErrInDoubt) != tc.inDoubt {
				t.Errorf("Delete, the session's file: %s, lock lost at its last check: %v; want ErrLockLost, and ErrInDoubt %v", tc.name, err, tc.inDoubt)
			}
			if !tc.inDoubt && strings.Contains(err.Error(), "deleted, but") {
				t.Errorf("Delete that found no copy, lock lost at its last check: %v; want no word that it deleted", err)
			}
			mustLoad(t, b, id, "B")
		})
	}
}
