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

// TestEveryCallObservedOnce: every call of an operation the Observer
// sees is reported once, with the outcome its error is classified by,
// those that fail before they reach the file system included: a call the
// caller should not have made (a nil session, a write through a shared
// lock, a Locked used after Unlock) is "invalid", as an invalid ID is;
// one whose context has ended is "lock_timeout", as documented. Unreported,
// they were missing from the counters that alert on them.
func TestEveryCallObservedOnce(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	ctx := context.Background()
	locked := func(t *testing.T, s *fsstore.Store, id string, mode fsstore.LockMode) *fsstore.Locked {
		t.Helper()
		l, err := s.Lock(ctx, id, mode)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Unlock() })
		return l
	}
	for _, tc := range []struct {
		name string
		// prep sets the call up (a Lock reports an event of its own)
		// and returns it.
		prep func(t *testing.T, s *fsstore.Store, id string) func() error
		op   fsstore.Op
		want fsstore.Outcome
		opts []fsstore.Option
	}{
		{"Save of nil", func(t *testing.T, s *fsstore.Store, id string) func() error {
			return func() error { return s.Save(ctx, nil) }
		}, fsstore.OpSave, fsstore.OutcomeInvalid, nil},
		{"CompareAndSwap of nil", func(t *testing.T, s *fsstore.Store, id string) func() error {
			return func() error { return s.CompareAndSwap(ctx, nil) }
		}, fsstore.OpCompareAndSwap, fsstore.OutcomeInvalid, nil},
		{"Save with an idle timeout out of range", func(t *testing.T, s *fsstore.Store, id string) func() error {
			return func() error { return s.Save(ctx, &fsstore.Session{ID: id, Idle: time.Millisecond}) }
		}, fsstore.OpSave, fsstore.OutcomeInvalid, nil},
		{"Lock of an invalid ID", func(t *testing.T, s *fsstore.Store, id string) func() error {
			return func() error { _, err := s.Lock(ctx, "bad id", fsstore.Exclusive); return err }
		}, fsstore.OpLockWait, fsstore.OutcomeInvalid, nil},
		{"Lock with its context ended", func(t *testing.T, s *fsstore.Store, id string) func() error {
			return func() error { _, err := s.Lock(canceled, id, fsstore.Exclusive); return err }
		}, fsstore.OpLockWait, fsstore.OutcomeLockTimeout, nil},
		{"TryLock of an invalid ID", func(t *testing.T, s *fsstore.Store, id string) func() error {
			return func() error { _, err := s.TryLock("bad id", fsstore.Exclusive); return err }
		}, fsstore.OpTryLock, fsstore.OutcomeInvalid, nil},
		{"TryLock of a closed store", func(t *testing.T, s *fsstore.Store, id string) func() error {
			s.Close()
			return func() error { _, err := s.TryLock(id, fsstore.Exclusive); return err }
		}, fsstore.OpTryLock, fsstore.OutcomeError, nil},
		// Reported as the Lock of the stripe is, and as the error
		// matches: ErrLockLost (and ErrLocked).
		{"TryLock on a stripe whose lock was found lost", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Exclusive)
			// Another host breaks the lease; the holder's save finds it lost.
			if err := os.Remove(filepath.Join(s.Dir(), "locks", s.StripeForTest(id)+".lease")); err != nil {
				t.Fatal(err)
			}
			if err := l.Save(ctx, &fsstore.Session{ID: id, Version: 1}); !errors.Is(err, fsstore.ErrLockLost) {
				t.Fatalf("Save under the lost lock = %v, want ErrLockLost", err)
			}
			return func() error { _, err := s.TryLock(newID(t), fsstore.Exclusive); return err }
		}, fsstore.OpTryLock, fsstore.OutcomeLockLost, []fsstore.Option{fsstore.WithLockStrategy(lock.Lease), fsstore.WithLockStripes(1)}},
		{"Locked.Save through a shared lock", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Shared)
			return func() error { return l.Save(ctx, &fsstore.Session{ID: id}) }
		}, fsstore.OpSave, fsstore.OutcomeInvalid, nil},
		{"Locked.Touch through a shared lock", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Shared)
			return func() error { return l.Touch(ctx) }
		}, fsstore.OpTouch, fsstore.OutcomeInvalid, nil},
		{"Locked.Delete through a shared lock", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Shared)
			return func() error { return l.Delete(ctx) }
		}, fsstore.OpDelete, fsstore.OutcomeInvalid, nil},
		{"Locked.Save of another session", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Exclusive)
			return func() error { return l.Save(ctx, &fsstore.Session{ID: newID(t)}) }
		}, fsstore.OpSave, fsstore.OutcomeInvalid, nil},
		{"Locked.Save of nil", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Exclusive)
			return func() error { return l.Save(ctx, nil) }
		}, fsstore.OpSave, fsstore.OutcomeInvalid, nil},
		{"Locked.Load after Unlock", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Exclusive)
			l.Unlock()
			return func() error { _, err := l.Load(ctx); return err }
		}, fsstore.OpLoad, fsstore.OutcomeInvalid, nil},
		{"Locked.Load with its context ended", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Exclusive)
			return func() error { _, err := l.Load(canceled); return err }
		}, fsstore.OpLoad, fsstore.OutcomeLockTimeout, nil},
		{"Locked.Delete with its context ended", func(t *testing.T, s *fsstore.Store, id string) func() error {
			l := locked(t, s, id, fsstore.Exclusive)
			return func() error { return l.Delete(canceled) }
		}, fsstore.OpDelete, fsstore.OutcomeLockTimeout, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s, err := fsstore.Open(t.TempDir(), append(tc.opts, fsstore.WithObserver(rec))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
				t.Fatal(err)
			}
			call := tc.prep(t, s, id)
			rec.mu.Lock()
			before := len(rec.events)
			rec.mu.Unlock()
			err = call()
			if err == nil {
				t.Fatal("the call succeeded; want an error")
			}
			rec.mu.Lock()
			events := append([]fsstore.Event(nil), rec.events[before:]...)
			rec.mu.Unlock()
			if len(events) != 1 || events[0].Op != tc.op || events[0].Outcome != tc.want {
				t.Fatalf("the call (%v) reported %+v; want one %v event, outcome %v", err, events, tc.op, tc.want)
			}
			if got := fsstore.OutcomeOfForTest(err); got != tc.want {
				t.Errorf("its error %v is classified %v, want %v", err, got, tc.want)
			}
			if tc.want == fsstore.OutcomeInvalid && errors.Is(err, fsstore.ErrUnavailable) {
				t.Errorf("an invalid call's error %v matches ErrUnavailable", err)
			}
		})
	}
}
