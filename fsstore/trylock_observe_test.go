package fsstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestTryLockObserved: a TryLock is reported, as try_lock, so that a
// metrics back end sees non-waiting attempts that found the session busy.
// One that found the lock held is "busy", not "lock_timeout": it did not
// wait, and an alert or a dashboard reading lock_timeout as slow lock
// holders must not count it. Nor is it a lock_wait: its quick attempts
// would lower the lock waits' latency quantiles that alerts watch. Both paths, the store's own and the
// bounded one, report the same.
func TestTryLockObserved(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"local", nil},
		{"bounded", []fsstore.Option{fsstore.WithMaxInFlight(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s, err := fsstore.Open(t.TempDir(), append(tc.opts, fsstore.WithObserver(rec))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			id, _ := fsstore.NewID()
			held, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.TryLock(id, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) {
				t.Fatalf("TryLock of a held session: %v, want ErrLocked", err)
			}
			busy := rec.lockOutcomes()
			if err := held.Unlock(); err != nil {
				t.Fatal(err)
			}
			l, err := s.TryLock(id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Unlock(); err != nil {
				t.Fatal(err)
			}
			// Lock's own event, then one per TryLock.
			for _, c := range []struct {
				what      string
				got, want []fsstore.Outcome
			}{
				{"lock_wait, after a TryLock of a held session", busy[fsstore.OpLockWait], []fsstore.Outcome{fsstore.OutcomeOK}},
				{"try_lock, after a TryLock of a held session", busy[fsstore.OpTryLock], []fsstore.Outcome{fsstore.OutcomeBusy}},
				{"lock_wait, after a TryLock of a free one", rec.lockOutcomes()[fsstore.OpLockWait], []fsstore.Outcome{fsstore.OutcomeOK}},
				{"try_lock, after a TryLock of a free one", rec.lockOutcomes()[fsstore.OpTryLock], []fsstore.Outcome{fsstore.OutcomeBusy, fsstore.OutcomeOK}},
			} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s: outcomes %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

// lockOutcomes returns the outcomes of the lock_wait and try_lock events
// so far, by op.
func (r *recorder) lockOutcomes() map[fsstore.Op][]fsstore.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[fsstore.Op][]fsstore.Outcome{}
	for _, e := range r.events {
		if e.Op == fsstore.OpLockWait || e.Op == fsstore.OpTryLock {
			out[e.Op] = append(out[e.Op], e.Outcome)
		}
	}
	return out
}
