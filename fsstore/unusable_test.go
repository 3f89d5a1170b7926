package fsstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestUnusableStoreFailsEveryCall: every call that returns an error, made
// on a nil *Store (an Open whose error was dropped), on a Store{} not made
// by Open, or with a nil Context, fails with an error saying which, as an
// invalid call (not ErrClosed: retrying does not help), where a nil
// dereference or a division by zero panicked, and Health on a Store{}
// panicked on its worker goroutine, ending the process.
func TestUnusableStoreFailsEveryCall(t *testing.T) {
	opened, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { opened.Close() })
	id := "0123456789abcdefghijklmnopqrstuv"
	calls := func(s *fsstore.Store, ctx context.Context) map[string]func() error {
		return map[string]func() error{
			"Load":           func() error { _, err := s.Load(ctx, id); return err },
			"LoadInto":       func() error { _, err := s.LoadInto(ctx, id, nil); return err },
			"Save":           func() error { return s.Save(ctx, &fsstore.Session{ID: id}) },
			"CompareAndSwap": func() error { return s.CompareAndSwap(ctx, &fsstore.Session{ID: id}) },
			"Delete":         func() error { return s.Delete(ctx, id) },
			"Touch":          func() error { return s.Touch(ctx, id) },
			"Health":         func() error { return s.Health(ctx) },
			"Lock":           func() error { _, err := s.Lock(ctx, id, fsstore.Exclusive); return err },
			"Range":          func() error { _, err := s.Range(ctx, func(*fsstore.Record) bool { return true }); return err },
			"Rekey":          func() error { _, err := s.Rekey(ctx, fsstore.RekeyOptions{}); return err },
			"Stats":          func() error { _, err := s.Stats(ctx, fsstore.StatsOptions{}); return err },
			"Sweep":          func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{}); return err },
			"OpenContext": func() error {
				s, err := fsstore.OpenContext(ctx, t.TempDir())
				if s != nil {
					s.Close()
				}
				return err
			},
		}
	}
	withoutCtx := func(s *fsstore.Store) map[string]func() error {
		return map[string]func() error{
			"TryLock":      func() error { _, err := s.TryLock(id, fsstore.Exclusive); return err },
			"TryLockFleet": func() error { _, err := s.TryLockFleet("probe"); return err },
			"Close":        func() error { return s.Close() },
		}
	}
	for _, tt := range []struct {
		name  string
		s     *fsstore.Store
		ctx   context.Context
		calls map[string]func() error
		want  string
	}{
		{"nil store", nil, context.Background(), calls(nil, context.Background()), "nil *fsstore.Store (did Open fail?)"},
		{"nil store", nil, nil, withoutCtx(nil), "nil *fsstore.Store (did Open fail?)"},
		{"zero store", &fsstore.Store{}, context.Background(), calls(&fsstore.Store{}, context.Background()), "fsstore.Store not made by Open"},
		{"zero store", &fsstore.Store{}, nil, withoutCtx(&fsstore.Store{}), "fsstore.Store not made by Open"},
		{"nil context", opened, nil, calls(opened, nil), "nil context.Context"},
	} {
		for name, call := range tt.calls {
			if tt.name != "nil context" && name == "OpenContext" {
				continue
			}
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := testenv.NoPanic(t, call)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				if errors.Is(err, fsstore.ErrClosed) || errors.Is(err, fsstore.ErrUnavailable) {
					t.Errorf("err = %v matches ErrClosed or ErrUnavailable, which a retry would be tried on", err)
				}
			})
		}
	}
}

// TestLockedNilContext: a Locked's calls with a nil Context fail with an
// error saying so, where they panicked, and leave the lock usable.
func TestLockedNilContext(t *testing.T) {
	s, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	l, err := s.Lock(ctx, "0123456789abcdefghijklmnopqrstuv", fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	var nilCtx context.Context
	for name, call := range map[string]func() error{
		"Load":   func() error { _, err := l.Load(nilCtx); return err },
		"Save":   func() error { return l.Save(nilCtx, &fsstore.Session{ID: l.ID(), Data: []byte("x")}) },
		"Touch":  func() error { return l.Touch(nilCtx) },
		"Delete": func() error { return l.Delete(nilCtx) },
	} {
		t.Run(name, func(t *testing.T) {
			err := testenv.NoPanic(t, call)
			if err == nil || !strings.Contains(err.Error(), "nil context.Context") {
				t.Fatalf("err = %v, want one naming the nil context", err)
			}
		})
	}
	if err := l.Save(ctx, &fsstore.Session{ID: l.ID(), Data: []byte("x")}); err != nil {
		t.Fatalf("Save after the refused calls: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestUnusableLocked: every call of a Locked that returns an error, on a
// nil *Locked (a Lock whose error was not checked first, as by a defer of
// Unlock written before the check) or a Locked{} not made by Lock, fails
// with an error saying which, as an invalid call, where it panicked with
// a nil dereference.
func TestUnusableLocked(t *testing.T) {
	ctx := context.Background()
	sess := &fsstore.Session{ID: "0123456789abcdefghijklmnopqrstuv", Data: []byte("x")}
	calls := func(l *fsstore.Locked) map[string]func() error {
		return map[string]func() error{
			"Load":               func() error { _, err := l.Load(ctx); return err },
			"LoadInto":           func() error { _, err := l.LoadInto(ctx, nil); return err },
			"LoadLockedOnly":     func() error { _, err := l.LoadLockedOnly(ctx); return err },
			"LoadIntoLockedOnly": func() error { _, err := l.LoadIntoLockedOnly(ctx, nil); return err },
			"Save":               func() error { return l.Save(ctx, sess) },
			"Touch":              func() error { return l.Touch(ctx) },
			"Delete":             func() error { return l.Delete(ctx) },
			"NewIDSharingStripe": func() error { _, err := l.NewIDSharingStripe(); return err },
			"Unlock":             func() error { return l.Unlock() },
		}
	}
	for _, tt := range []struct {
		name string
		l    func() *fsstore.Locked
		want string
	}{
		{"nil", func() *fsstore.Locked { return nil }, "nil *fsstore.Locked (did Lock fail?)"},
		{"zero", func() *fsstore.Locked { return &fsstore.Locked{} }, "fsstore.Locked not made by Lock"},
	} {
		for name, call := range calls(tt.l()) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := testenv.NoPanic(t, call)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				if errors.Is(err, fsstore.ErrUnavailable) || errors.Is(err, fsstore.ErrClosed) {
					t.Fatalf("err = %v matches ErrUnavailable or ErrClosed: retrying does not help", err)
				}
			})
		}
	}
}
