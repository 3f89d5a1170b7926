package fsstore_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/forge"
)

// TestReplay documents what the store promises, and what it does not,
// against someone who can write the store directory and kept copies of
// its files (a backup restored, or an attacker): docs/security.md,
// "Rollback and replay".
//
// Not promised: an older copy put back loads as the session's current
// state, and a deleted (logged out) session put back comes back. The
// store keeps no version floor outside the record.
//
// Promised with WithKeys: a copy put back is a genuine earlier state of
// that same session, and never outlives that session's absolute deadline,
// whatever file times it is given: the deadline is authenticated, and
// editing it makes the record fail to load.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clock.Now),
		fsstore.WithIdleTimeout(time.Hour), fsstore.WithLifetime(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := newID(t)
	p := forge.Path(dir, id, 1)
	sess := &fsstore.Session{ID: id, Data: []byte("v1: role=admin")}
	if err := s.Save(ctx, sess); err != nil {
		t.Fatal(err)
	}
	firstVersion := sess.Version
	v1, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	putBack := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		// The attacker sets the file time to "now", the fake clock's.
		if err := os.Chtimes(p, clock.Now(), clock.Now()); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("older copy loads", func(t *testing.T) {
		sess.Data = []byte("v2: role=user")
		if err := s.Save(ctx, sess); err != nil {
			t.Fatal(err)
		}
		putBack(v1)
		got, err := s.Load(ctx, id)
		if err != nil || string(got.Data) != "v1: role=admin" || got.Version != firstVersion {
			t.Fatalf("older copy: %+v %v; the store promises nothing here, but this test documents that it loads", got, err)
		}
	})
	t.Run("deleted session comes back", func(t *testing.T) {
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		putBack(v1)
		if _, err := s.Load(ctx, id); err != nil {
			t.Fatalf("deleted then put back: %v; documented to load", err)
		}
	})
	t.Run("never past the authenticated deadline", func(t *testing.T) {
		clock.Advance(24*time.Hour + time.Minute)
		putBack(v1)
		if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
			t.Fatalf("copy put back after its deadline, with a fresh mtime: %v, want ErrExpired", err)
		}
		b := append([]byte(nil), v1...)
		forge.SetDeadline(b, time.Time{})
		putBack(b)
		if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
			t.Fatalf("copy with its deadline removed: %v, want ErrCorrupt", err)
		}
	})
}
