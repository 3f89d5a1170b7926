package fsstore_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestCompareAndSwapNoABA: a client holds version n of a session; the
// session then ends (deleted, expired and swept, or replaced under its lock
// as a new record, as scsstore's log out leaves a tombstone) and is created
// again at its ID, and saved until the new record has had as many saves as
// the old. The client's CompareAndSwap expecting n must fail with
// ErrConflict: counted from 1 again, the new record's version was n, and
// the swap overwrote a session the client never read.
func TestCompareAndSwapNoABA(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, s *fsstore.Store, clk *fakeclock.Clock, id string)
	}{
		{"deleted", func(t *testing.T, s *fsstore.Store, _ *fakeclock.Clock, id string) {
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}},
		{"swept", func(t *testing.T, s *fsstore.Store, clk *fakeclock.Clock, id string) {
			clk.Advance(3 * time.Hour)
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Sessions != 1 {
				t.Fatalf("sweep: %+v %v, want the expired record removed", st, err)
			}
		}},
		{"replaced-under-lock", func(t *testing.T, s *fsstore.Store, _ *fakeclock.Clock, id string) {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("tombstone")}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New()
			s := openTemp(t, fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			sess := &fsstore.Session{ID: id, Data: []byte("first")}
			for range 3 {
				if err := s.CompareAndSwap(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}
			stale := *sess // the client's copy
			tc.end(t, s, clk, id)
			again := &fsstore.Session{ID: id, Data: []byte("second")}
			if tc.name == "replaced-under-lock" {
				got, err := s.Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				again.Version = got.Version
			}
			// As many saves as the earlier record had, at most.
			for i := 0; i < 3 && again.Version != stale.Version; i++ {
				if err := s.CompareAndSwap(ctx, again); err != nil {
					t.Fatal(err)
				}
			}
			stale.Data = []byte("stale")
			expected := stale.Version
			if err := s.CompareAndSwap(ctx, &stale); !errors.Is(err, fsstore.ErrConflict) {
				t.Fatalf("CompareAndSwap expecting version %d of the session's earlier record, over its new record at version %d: %v, want ErrConflict", expected, again.Version, err)
			}
			if got, err := s.Load(ctx, id); err != nil || string(got.Data) == "stale" {
				t.Fatalf("after the stale swap: %v %q", err, got.Data)
			}
		})
	}
}

// TestSaveNeverWritesVersionZero: version 0 means "no record" to
// CompareAndSwap, so no save may write it. A Save from the largest
// version wrapped around to 0, and a CompareAndSwap creating the session
// then replaced the live record as if there were none.
func TestSaveNeverWritesVersionZero(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	id := newID(t)
	sess := &fsstore.Session{ID: id, Data: []byte("live"), Version: math.MaxUint64}
	if err := s.Save(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if sess.Version == 0 {
		t.Fatal("Save wrote version 0")
	}
	if err := s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("created")}); !errors.Is(err, fsstore.ErrConflict) {
		t.Fatalf("CompareAndSwap creating a session that has a live record: %v, want ErrConflict", err)
	}
	mustLoad(t, s, id, "live")
}
