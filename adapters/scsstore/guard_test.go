package scsstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// The tombstone Delete leaves: no session for Find and All, not
// overwritten by a Commit until the guard's window has passed; without
// the guard, Delete removes the record and a Commit saves it again.
func TestDeleteGuard(t *testing.T) {
	tests := []struct {
		name   string
		opts   []scsstore.Option
		window time.Duration // 0: no guard
	}{
		{"default", nil, scsstore.DefaultDeleteGuard},
		{"one minute", []scsstore.Option{scsstore.WithDeleteGuard(time.Minute)}, time.Minute},
		{"WithoutDeleteGuard", []scsstore.Option{scsstore.WithoutDeleteGuard()}, 0},
		{"WithDeleteGuard(0)", []scsstore.Option{scsstore.WithDeleteGuard(0)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New()
			s := open(t, t.TempDir(), clk, tt.opts...)
			tok, other := newToken(t), newToken(t)
			for _, k := range []string{tok, other} {
				if err := s.Commit(k, []byte("data"), clk.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete(tok); err != nil {
				t.Fatal(err)
			}
			if _, found := mustFind(t, s, tok); found {
				t.Fatal("found after Delete")
			}
			all, err := s.All()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := all[tok]; ok || len(all) != 1 {
				t.Fatalf("All after Delete: %d sessions, the deleted one %v; want only the other", len(all), ok)
			}
			// A request that loaded the session before the Delete commits.
			if err := s.Commit(tok, []byte("again"), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			_, found := mustFind(t, s, tok)
			if guarded := tt.window > 0; found == guarded {
				t.Fatalf("a Commit after Delete: found %v; want %v", found, !guarded)
			}
			if tt.window == 0 {
				return
			}
			// An expiry in the past leaves the tombstone too.
			if err := s.Commit(tok, []byte("again"), clk.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tt.window - time.Second)
			if err := s.Commit(tok, []byte("again"), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, found := mustFind(t, s, tok); found {
				t.Fatal("a Commit within the window saved the deleted session")
			}
			// Past the window the token is an unknown one, as after a
			// plain delete: the documented limit of the guard.
			clk.Advance(2 * time.Second)
			if err := s.Commit(tok, []byte("again"), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if b, found := mustFind(t, s, tok); !found || string(b) != "again" {
				t.Fatalf("a Commit after the window: %q, %v; want it saved", b, found)
			}
			if b, found := mustFind(t, s, other); !found || string(b) != "data" {
				t.Fatalf("the other session: %q, %v", b, found)
			}
		})
	}
}

// A host without the guard (during a rolling deploy) takes a tombstone
// for no session, not an error.
func TestTombstoneOnUnguardedHost(t *testing.T) {
	clk := fakeclock.New()
	dir := t.TempDir()
	guarded := open(t, dir, clk)
	plain := open(t, dir, clk, scsstore.WithoutDeleteGuard())
	tok := newToken(t)
	if err := guarded.Commit(tok, []byte("data"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := guarded.Delete(tok); err != nil {
		t.Fatal(err)
	}
	if _, found := mustFind(t, plain, tok); found {
		t.Fatal("an unguarded store found a tombstone")
	}
	if all, err := plain.All(); err != nil || len(all) != 0 {
		t.Fatalf("an unguarded store's All: %d sessions, %v", len(all), err)
	}
}

// BenchmarkCommit: the delete guard's price on a commit, the lock and the
// read before the save (on NFS the round trips of docs/benchmarks.md),
// against an unguarded Save.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []scsstore.Option
	}{
		{"guard", nil},
		{"noguard", []scsstore.Option{scsstore.WithoutDeleteGuard()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st, err := fsstore.Open(b.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			s := scsstore.New(st, bc.opts...)
			tok, err := fsstore.NewID()
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, 1024)
			expiry := time.Now().Add(time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Commit(tok, data, expiry); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// opLog records the operations a store reports, in order.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) Observe(e fsstore.Event) {
	l.mu.Lock()
	l.ops = append(l.ops, e.Op.String())
	l.mu.Unlock()
}

func (l *opLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.ops, ",")
	l.ops = nil
	return s
}

// TestGuardOps pins the guard's price in store operations: a commit is
// the lock, a read and the save instead of the save alone, a delete a
// save under the lock instead of a removal. docs/benchmarks.md gives each
// one's round trips on NFS.
func TestGuardOps(t *testing.T) {
	for _, tc := range []struct {
		name           string
		opts           []scsstore.Option
		commit, delete string
	}{
		{"guard", nil, "lock_wait,load,save", "lock_wait,save"},
		{"noguard", []scsstore.Option{scsstore.WithoutDeleteGuard()}, "save", "delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log opLog
			st, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(&log), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s := scsstore.New(st, tc.opts...)
			tok := newToken(t)
			log.take()
			for i := range 2 { // creating the record, then replacing it
				if err := s.Commit(tok, []byte("data"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				if got := log.take(); got != tc.commit {
					t.Errorf("commit %d: %s; want %s", i, got, tc.commit)
				}
			}
			if err := s.Delete(tok); err != nil {
				t.Fatal(err)
			}
			if got := log.take(); got != tc.delete {
				t.Errorf("delete: %s; want %s", got, tc.delete)
			}
		})
	}
}

// TestTombstoneCountedUntilSweepHorizon pins what the operator guide says
// of tombstones in the store's figures: the sweep judges records by their
// files' mtimes against the marker's max idle, which scs's Lifetime raises
// (a day by default), not by the tombstone's own 10-minute window; so a
// tombstone past its window is no session to Find, but Stats and the
// sweep count it live, and the sweep removes it only at that horizon.
func TestTombstoneCountedUntilSweepHorizon(t *testing.T) {
	clk := fakeclock.New()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := scsstore.New(st, scsstore.WithClock(clk.Now))
	tok := newToken(t)
	lifetime := 24 * time.Hour // scs's default Lifetime
	if err := s.Commit(tok, []byte("data"), clk.Now().Add(lifetime)); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(scsstore.DefaultDeleteGuard + time.Minute)
	if _, found := mustFind(t, s, tok); found {
		t.Fatal("found after Delete")
	}
	ctx := context.Background()
	stats, err := st.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Live != 1 || stats.Expired != 0 {
		t.Errorf("Stats past the window: %d live, %d expired; want the tombstone live", stats.Live, stats.Expired)
	}
	sw, err := st.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Live != 1 || sw.Sessions != 0 {
		t.Errorf("sweep past the window: %d live, %d removed; want the tombstone kept", sw.Live, sw.Sessions)
	}
	clk.Advance(lifetime)
	if sw, err = st.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if sw.Live != 0 || sw.Sessions != 1 {
		t.Errorf("sweep past the marker's max idle: %d live, %d removed; want the tombstone removed", sw.Live, sw.Sessions)
	}
}

// A tombstone is no version of the session it ended: a client of the
// fsstore.Store under scs that read the session before the log out, and
// compares and swaps it after, conflicts with the tombstone rather than
// write the logged-out session back. The tombstone started at version 1,
// as the session's first commit did.
func TestTombstoneIsNoVersionOfTheSession(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.New()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := scsstore.New(st, scsstore.WithClock(clk.Now))
	tok := newToken(t)
	if err := s.Commit(tok, []byte("logged in"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	read, err := st.Load(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(tok); err != nil {
		t.Fatal(err)
	}
	if err := st.CompareAndSwap(ctx, read); !errors.Is(err, fsstore.ErrConflict) {
		t.Fatalf("CompareAndSwap of the session as read before the log out: %v, want ErrConflict", err)
	}
	if _, found := mustFind(t, s, tok); found {
		t.Fatal("the logged-out session is back")
	}
}
