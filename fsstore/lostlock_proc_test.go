//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestLockedWritesRefusedAfterTakeover: Locked.Save, Touch and Delete
// check the lock before they write (docs/design.md, "Lost locks are
// reported, never ignored"). A holder under the lease strategy whose
// lease was broken (its file removed, as a breaker replaces a lapsed
// lease) while another process took the lock over and holds it must fail
// each with ErrLockLost, not ErrInDoubt, and leave the record as it was:
// its payload, its mtime (a Touch), its name (a Delete), no file aside,
// and the other process's lease in place, before and after its Unlock.
// The checks right before and after a save's rename are
// TestLockedSaveLockLostMidSave's; a holder stopped past its lease,
// TestLeaseStoppedHolderSaveFenced's and TestLeaseStoppedHolderDeleteFenced's.
func TestLockedWritesRefusedAfterTakeover(t *testing.T) {
	for _, tc := range []struct {
		op string
		do func(ctx context.Context, l *fsstore.Locked, id string) error
	}{
		{"save", func(ctx context.Context, l *fsstore.Locked, id string) error {
			return l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("late")})
		}},
		{"touch", func(ctx context.Context, l *fsstore.Locked, _ string) error { return l.Touch(ctx) }},
		{"delete", func(ctx context.Context, l *fsstore.Locked, _ string) error { return l.Delete(ctx) }},
	} {
		t.Run(tc.op, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			p := s.RecordPathForTest(id)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
				t.Fatal(err)
			}
			// Ten minutes idle: live, and a Touch would move the mtime.
			was := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
			if err := os.Chtimes(p, was, was); err != nil {
				t.Fatal(err)
			}
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, "locks", s.StripeForTest(id)+".lease")); err != nil {
				t.Fatal(err)
			}
			next := startChild(t, "hold-lock", []string{"STORE_DIR=" + dir, "STORE_ID=" + id})
			next.Expect(t, "locked")
			// othersHold: a third owner finds the session's lock taken,
			// by the process that took it over.
			other := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
			othersHold := func(when string) {
				t.Helper()
				if o, err := other.TryLock(id, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) {
					if err == nil {
						o.Unlock()
					}
					t.Errorf("%s: TryLock by a third owner: %v; want ErrLocked (the next holder's lease)", when, err)
				}
			}
			othersHold("before the " + tc.op)

			err = tc.do(ctx, l, id)
			if !errors.Is(err, fsstore.ErrLockLost) || errors.Is(err, fsstore.ErrInDoubt) {
				t.Errorf("%s under a lock taken over: %v; want ErrLockLost, not ErrInDoubt", tc.op, err)
			}
			othersHold("after the " + tc.op)
			l.Unlock() // lost: its error says so; what counts is what it leaves
			othersHold("after the Unlock")

			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("the record after a refused %s: %v", tc.op, err)
			}
			if !fi.ModTime().Equal(was) {
				t.Errorf("the record's mtime after a refused %s: %v, want %v", tc.op, fi.ModTime(), was)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*")); len(left) != 0 {
				t.Errorf("left in the shard: %v", left)
			}
			next.Finish(t)
			mustLoad(t, other, id, "old")
		})
	}
}
