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

// A lock lost while a locked save is under way is reported as
// ErrLockLost wherever it is found: right before the rename (nothing is
// written) or right after it (the record is written, and the caller is
// told it may have replaced another holder's). The lease strategy lets a
// test take the lock away at will: removing the lease file.
func TestLockedSaveLockLostMidSave(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		stage string
		want  string // the record afterwards
	}{
		{"rename", "old"},
		{"after", "new"},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			s := openTemp(t, fsstore.WithLockStrategy(lock.Lease))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
				t.Fatal(err)
			}
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			sess, err := l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			loseLeaseAt(t, s, id, tc.stage)
			sess.Data = []byte("new")
			err = l.Save(ctx, sess)
			if !errors.Is(err, fsstore.ErrLockLost) {
				t.Errorf("Save with the lock lost at %q: %v, want ErrLockLost", tc.stage, err)
			}
			// Published (lost after the rename) is in doubt; refused is not.
			if got, want := errors.Is(err, fsstore.ErrInDoubt), tc.want == "new"; got != want {
				t.Errorf("Save with the lock lost at %q: %v: matches ErrInDoubt %v, want %v", tc.stage, err, got, want)
			}
			s.SetLockCheckHookForTest(nil)
			mustLoad(t, s, id, tc.want)
		})
	}
}

// CompareAndSwap verifies its lock the same way, right before its rename
// and right after it.
func TestCompareAndSwapLockLostMidSave(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		stage string
		want  string // the record afterwards
	}{
		{"rename", "old"},
		{"after", "new"},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			s := openTemp(t, fsstore.WithLockStrategy(lock.Lease))
			id := newID(t)
			sess := &fsstore.Session{ID: id, Data: []byte("old")}
			if err := s.CompareAndSwap(ctx, sess); err != nil {
				t.Fatal(err)
			}
			loseLeaseAt(t, s, id, tc.stage)
			sess.Data = []byte("new")
			if err := s.CompareAndSwap(ctx, sess); !errors.Is(err, fsstore.ErrLockLost) {
				t.Errorf("CompareAndSwap with the lock lost at %q: %v, want ErrLockLost", tc.stage, err)
			}
			s.SetLockCheckHookForTest(nil)
			mustLoad(t, s, id, tc.want)
		})
	}
}

// loseLeaseAt makes s lose id's lease (the Lease strategy's lock file is
// removed, as another host breaking it would) when its lock check reaches
// stage.
func loseLeaseAt(t *testing.T, s *fsstore.Store, id, stage string) {
	t.Helper()
	lease := filepath.Join(s.Dir(), "locks", s.StripeForTest(id)+".lease")
	s.SetLockCheckHookForTest(func(at string) {
		if at == stage {
			if err := os.Remove(lease); err != nil {
				t.Error(err)
			}
		}
	})
}
