package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

// TestRecordFromAnotherStore documents what the sealing binds a record
// to: its session ID (the file name and the header's binding), not its
// store. Someone who can write one store's directory can put there a
// record of another store opened with the same key (a staging store's
// session of their own, given rights there): it loads as that session,
// whose ID they hold. With each store's own keys it is refused: as
// ErrCorrupt where the key ID is the same, as ErrUnknownKey or ErrCorrupt
// otherwise (docs/security.md, "Bound to the session").
func TestRecordFromAnotherStore(t *testing.T) {
	ctx := context.Background()
	shared := mustKey(t, 1)
	for _, tc := range []struct {
		name    string
		keysOfB fsstore.Key
		loads   bool
	}{
		{"same key", shared, true},
		{"own key under the same ID", mustKey(t, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dirA, dirB := t.TempDir(), t.TempDir()
			a, err := fsstore.Open(dirA, fsstore.WithKeys(shared))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := fsstore.Open(dirB, fsstore.WithKeys(tc.keysOfB))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			id := newID(t)
			if err := a.Save(ctx, &fsstore.Session{ID: id, Data: []byte("role=admin")}); err != nil {
				t.Fatal(err)
			}
			src := recordPaths(t, dirA)[0]
			rel, err := filepath.Rel(dirA, src)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dirB, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := b.Load(ctx, id)
			switch {
			case tc.loads && (err != nil || string(got.Data) != "role=admin"):
				t.Fatalf("record of a store with the same key: %v, want it loaded", err)
			case !tc.loads && !errors.Is(err, fsstore.ErrCorrupt):
				t.Fatalf("record of a store with its own key: %v, want ErrCorrupt", err)
			}
		})
	}
}
