package fsstore_test

import (
	"context"
	"errors"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

func mtime(t *testing.T, p string) time.Time {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime()
}

// A session idle past the timeout is expired (ErrExpired, which matches
// ErrNotFound) for Load and Locked.Load; Touch refuses it with ErrNotFound
// and does not revive it (the file's mtime stays).
func TestIdleExpiry(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	s := openTemp(t, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
	id := newID(t)
	sess := &fsstore.Session{ID: id, Data: []byte("v")}
	if err := s.Save(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if d := sess.Expires.Sub(clock.Now()); d <= 0 || d > time.Hour {
		t.Errorf("Expires is %v after the save, want within the idle timeout", d)
	}
	clock.Advance(59 * time.Minute)
	mustLoad(t, s, id, "v")
	clock.Advance(2 * time.Minute)
	_, err := s.Load(ctx, id)
	if !errors.Is(err, fsstore.ErrExpired) || !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load after the idle timeout: %v, want ErrExpired matching ErrNotFound", err)
	}
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(ctx); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Locked.Load after the idle timeout: %v, want ErrNotFound", err)
	}
	l.Unlock()
	p := s.RecordPathForTest(id)
	before := mtime(t, p)
	if err := s.Touch(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Touch of an expired session: %v, want ErrNotFound", err)
	}
	if after := mtime(t, p); !after.Equal(before) {
		t.Fatalf("Touch of an expired session changed its mtime %v -> %v: it revived it", before, after)
	}
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
		t.Fatalf("Load after the refused Touch: %v, want still expired", err)
	}
}

// The absolute lifetime ends a session however active it is; a session's
// own Deadline takes precedence over the store's lifetime.
func TestAbsoluteLifetime(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	s := openTemp(t, fsstore.WithIdleTimeout(2*time.Hour), fsstore.WithLifetime(time.Hour), fsstore.WithClock(clock.Now))
	id, short := newID(t), newID(t)
	created := clock.Now()
	sess := &fsstore.Session{ID: id, Data: []byte("v")}
	if err := s.Save(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if !sess.Deadline.Equal(created.Add(time.Hour)) {
		t.Errorf("Deadline %v, want created + 1h = %v", sess.Deadline, created.Add(time.Hour))
	}
	if err := s.Save(ctx, &fsstore.Session{ID: short, Data: []byte("s"), Deadline: created.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(9 * time.Minute)
	mustLoad(t, s, short, "s")
	clock.Advance(2 * time.Minute)
	if _, err := s.Load(ctx, short); !errors.Is(err, fsstore.ErrExpired) {
		t.Fatalf("Load past the session's own deadline: %v, want ErrExpired", err)
	}
	clock.Advance(48 * time.Minute) // 59m since creation
	if err := s.Touch(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Resaving keeps the deadline fixed at the first save.
	if err := s.Save(ctx, got); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute) // 61m since creation: idle fine, lifetime over
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
		t.Fatalf("Load past the absolute lifetime: %v, want ErrExpired", err)
	}
}

// The documented CompareAndSwap loop — Load, modify, CompareAndSwap, retry
// on ErrConflict — must make progress when the session has expired: Load
// says ErrNotFound, so the caller starts a new session at version 0.
func TestCompareAndSwapAfterExpiry(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	s := openTemp(t, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
	id := newID(t)
	if err := s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	for attempt := 0; ; attempt++ {
		sess, err := s.Load(ctx, id)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = &fsstore.Session{ID: id}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		sess.Data = []byte("new")
		err = s.CompareAndSwap(ctx, sess)
		if err == nil {
			break
		}
		if !errors.Is(err, fsstore.ErrConflict) {
			t.Fatal(err)
		}
		if attempt == 5 {
			t.Fatalf("CompareAndSwap over an expired session: still %v after %d retries; the caller cannot make progress", err, attempt+1)
		}
	}
	mustLoad(t, s, id, "new")
}
