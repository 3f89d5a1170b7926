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

// TestHeaderJudgedSweepKeepsTouched: after the marker's idle timeout was
// lowered by hand, the sweep judges records between the new and the old
// timeout by their headers, one by one, and moves an expired one aside
// before it removes it. A record touched (or saved under the judged
// file's freed inode number) between the judgement and the move must go
// back: what moved is checked by its mtime as well as its inode.
func TestHeaderJudgedSweepKeepsTouched(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(2*time.Hour))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v"), Idle: time.Minute}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	idle := time.Now().Add(-10 * time.Minute)
	if err := os.Chtimes(p, idle, idle); err != nil {
		t.Fatal(err)
	}
	setMarkerIdle(t, dir, time.Minute)
	// A sweeper that uses no idle of its own, as sessgc opens the store.
	gc := openDir(t, dir, fsstore.WithIdleTimeout(time.Second))
	moved := 0
	gc.SetSweepHooksForTest(nil, func(string) {
		moved++
		now := time.Now()
		if err := os.Chtimes(p, now, now); err != nil { // a host's Touch
			t.Error(err)
		}
	}, nil)
	st, err := gc.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if moved != 1 {
		t.Fatalf("the sweep judged %d records by their header, want 1", moved)
	}
	if st.Sessions != 0 || !exists(t, p) {
		t.Errorf("sweep removed %d sessions, record present %v; want the touched record kept", st.Sessions, exists(t, p))
	}
}

// TestDeadlineOutsideHeaderRange: a record's header holds times as Unix
// nanoseconds, from 1970 to 2262. A deadline past 2262 wrapped around: the
// saved session came back long expired (a year-2560 deadline read as
// 1975). One before 1970 read as none: a session past its deadline lived
// on. Both are saturated now.
func TestDeadlineOutsideHeaderRange(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for _, tc := range []struct {
		name     string
		deadline time.Time
		expired  bool
	}{
		{"year 2560", time.Date(2560, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 1960", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newID(t)
			sess := &fsstore.Session{ID: id, Data: []byte("v"), Deadline: tc.deadline}
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			if got := !sess.Expires.After(time.Now()); got != tc.expired {
				t.Errorf("after Save, Expires %v: expired %v, want %v", sess.Expires, got, tc.expired)
			}
			_, err := s.Load(ctx, id)
			if got := errors.Is(err, fsstore.ErrExpired); got != tc.expired || (!tc.expired && err != nil) {
				t.Errorf("Load: %v; want expired %v", err, tc.expired)
			}
		})
	}
}

// TestTouchWhileAside: while a sweep holds a record aside to decide about
// it, Load finds it there; Touch must too, and touch it there, where the
// sweep looks for a touch before it removes the record. (It answered
// ErrNotFound, and for a record a dead sweep left aside every Touch
// failed, so that the next sweep judged it by an mtime no Touch could
// move.)
func TestTouchWhileAside(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
	if err := os.Rename(p, aside); err != nil { // as a sweep holds it
		t.Fatal(err)
	}
	before := time.Now().Add(-30 * time.Minute)
	if err := os.Chtimes(aside, before, before); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, id); err != nil {
		t.Fatalf("Load while aside: %v", err)
	}
	if err := s.Touch(ctx, id); err != nil {
		t.Fatalf("Touch while aside: %v", err)
	}
	st, err := os.Stat(aside)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().After(before.Add(time.Minute)) {
		t.Errorf("the record aside was not touched: mtime %v", st.ModTime())
	}
	if err := os.Remove(aside); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Touch of a session gone from both names = %v, want ErrNotFound", err)
	}
}

// TestSweepSkipsStripeWithLostLock: once a holder in this process found
// its stripe's lock lost, locking another session on that stripe fails
// with ErrLockLost until the holders let go. The sweep takes that as a
// session in use, as it takes ErrLocked, and leaves the record for the
// next sweep: it is not an error of the pass (sessgc would fail).
func TestSweepSkipsStripeWithLostLock(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLockStripes(1), fsstore.WithIdleTimeout(time.Hour))
	held, left := newID(t), newID(t)
	for _, id := range []string{held, left} {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Lock(ctx, held, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	// Another host breaks the lease; the holder's save finds it lost.
	if err := os.Remove(filepath.Join(s.Dir(), "locks", s.StripeForTest(held)+".lease")); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(ctx, &fsstore.Session{ID: held, Version: 1, Data: []byte("w")}); !errors.Is(err, fsstore.ErrLockLost) {
		t.Fatalf("Save under the lost lock = %v, want ErrLockLost", err)
	}
	// A record a dead sweep left aside: settling it takes its lock.
	p := s.RecordPathForTest(left)
	if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
		t.Fatal(err)
	}
	st, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil || st.Errors != 0 || st.SkippedLocked != 1 {
		t.Fatalf("Sweep beside the lost stripe lock = %+v, %v; want the record skipped as locked, no error", st, err)
	}
}
