//go:build unix

package fsstore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

func TestOSOutcomes(t *testing.T) {
	for _, tc := range []struct {
		errno unix.Errno
		want  fsstore.Outcome
	}{
		{unix.ENOSPC, fsstore.OutcomeNoSpace},
		{unix.EDQUOT, fsstore.OutcomeNoSpace},
		{unix.EROFS, fsstore.OutcomeReadOnlyFS},
		{unix.EPERM, fsstore.OutcomePermission},
		{unix.EIO, fsstore.OutcomeError},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			err := fmt.Errorf("save: %w", &fs.PathError{Op: "write", Path: "p", Err: tc.errno})
			if got := fsstore.OutcomeOfForTest(err); got != tc.want {
				t.Errorf("outcome of %v = %v, want %v", err, got, tc.want)
			}
		})
	}
}

// A request refused because the process holds its cap of OS locks is
// reported as too_many_locks, not as a generic error: raising the cap or
// the server's lock budget is the fix, not a restart.
func TestTooManyLocksObserved(t *testing.T) {
	rec := &recorder{}
	s := openDir(t, t.TempDir(), fsstore.WithMaxHeldLocks(1), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithObserver(rec))
	ids := distinctStripeIDs(s, "cap", 2, nil)
	l, err := s.Lock(noHang(t), ids[0], fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := s.CompareAndSwap(noHang(t), &fsstore.Session{ID: ids[1]}); !errors.Is(err, fsstore.ErrTooManyLocks) {
		t.Fatalf("CompareAndSwap at the cap: %v, want ErrTooManyLocks", err)
	}
	// The label, as dashboards and alerts see it.
	if got := rec.outcome(fsstore.OpCompareAndSwap).String(); got != "too_many_locks" {
		t.Fatalf("CompareAndSwap at the cap observed as %s, want too_many_locks", got)
	}
}

// outcome returns the outcome of the last event of op. Here, not beside
// recorder: only Unix tests ask (unused elsewhere, staticcheck's U1000).
func (r *recorder) outcome(op fsstore.Op) fsstore.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if r.events[i].Op == op {
			return r.events[i].Outcome
		}
	}
	return fsstore.Outcome(255)
}
