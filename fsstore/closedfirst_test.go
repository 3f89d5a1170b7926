package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestClosedBeforeConfiguration holds that every call of a closed store
// that returns an error fails with one matching ErrClosed, whatever the
// store's configuration would have refused had it been open (no keys for
// a rekey, WithReadOnly for a write or a lock): a closed store says so
// first, and the caller's fix is to stop using it, not to reconfigure.
func TestClosedBeforeConfiguration(t *testing.T) {
	ctx := context.Background()
	const id = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	calls := []struct {
		name string
		call func(s *fsstore.Store) error
	}{
		{"Load", func(s *fsstore.Store) error { _, err := s.Load(ctx, id); return err }},
		{"LoadInto", func(s *fsstore.Store) error { _, err := s.LoadInto(ctx, id, nil); return err }},
		{"Save", func(s *fsstore.Store) error {
			return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x"), Expires: time.Now().Add(time.Hour)})
		}},
		{"CompareAndSwap", func(s *fsstore.Store) error {
			return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("x"), Expires: time.Now().Add(time.Hour)})
		}},
		{"Delete", func(s *fsstore.Store) error { return s.Delete(ctx, id) }},
		{"Touch", func(s *fsstore.Store) error { return s.Touch(ctx, id) }},
		{"Lock", func(s *fsstore.Store) error { _, err := s.Lock(ctx, id, fsstore.Exclusive); return err }},
		{"TryLock", func(s *fsstore.Store) error { _, err := s.TryLock(id, fsstore.Exclusive); return err }},
		{"Range", func(s *fsstore.Store) error {
			_, err := s.Range(ctx, func(*fsstore.Record) bool { return true })
			return err
		}},
		{"Rekey", func(s *fsstore.Store) error { _, err := s.Rekey(ctx, fsstore.RekeyOptions{}); return err }},
		{"Stats", func(s *fsstore.Store) error { _, err := s.Stats(ctx, fsstore.StatsOptions{}); return err }},
		{"Sweep", func(s *fsstore.Store) error { _, err := s.Sweep(ctx, fsstore.SweepOptions{}); return err }},
		{"Health", func(s *fsstore.Store) error { return s.Health(ctx) }},
		{"TryLockFleet", func(s *fsstore.Store) error { _, err := s.TryLockFleet("fleet"); return err }},
	}
	dir := t.TempDir()
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	configs := []struct {
		name string
		opts []fsstore.Option
	}{
		{"no keys", nil},
		{"read-only", []fsstore.Option{fsstore.WithReadOnly()}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			for _, call := range calls {
				s, err := fsstore.Open(dir, c.opts...)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := call.call(s); !errors.Is(err, fsstore.ErrClosed) {
					t.Errorf("%s on a closed store: got %v, want ErrClosed", call.name, err)
				}
			}
		})
	}
}

// TestClosedBeforeEndedContext holds the order the Store doc states for a
// session call given a Context that has ended: on a closed store the
// store's ErrClosed comes first, for a Locked's calls as for the Store's
// (a Locked taken before Close said context.Canceled, where the Store's
// calls said ErrClosed, and its Touch after a Load succeeded through the
// file the Load kept open), and on an open store the context's error
// alone.
func TestClosedBeforeEndedContext(t *testing.T) {
	s := openDir(t, t.TempDir())
	id := newID(t)
	must(t, s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}))
	l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
	must(t, err)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	sess := func() *fsstore.Session { return &fsstore.Session{ID: id, Data: []byte("y")} }
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Load", func(ctx context.Context) error { _, err := s.Load(ctx, id); return err }},
		{"Save", func(ctx context.Context) error { return s.Save(ctx, sess()) }},
		{"CompareAndSwap", func(ctx context.Context) error { return s.CompareAndSwap(ctx, sess()) }},
		{"Touch", func(ctx context.Context) error { return s.Touch(ctx, id) }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, id) }},
		{"Lock", func(ctx context.Context) error { _, err := s.Lock(ctx, newID(t), fsstore.Exclusive); return err }},
		{"Locked.Load", func(ctx context.Context) error { _, err := l.Load(ctx); return err }},
		{"Locked.LoadLockedOnly", func(ctx context.Context) error { _, err := l.LoadLockedOnly(ctx); return err }},
		{"Locked.Save", func(ctx context.Context) error { return l.Save(ctx, sess()) }},
		{"Locked.Touch", func(ctx context.Context) error { return l.Touch(ctx) }},
		{"Locked.Delete", func(ctx context.Context) error { return l.Delete(ctx) }},
	}
	for _, c := range calls {
		if err := c.call(ended); !errors.Is(err, context.Canceled) || errors.Is(err, fsstore.ErrClosed) {
			t.Errorf("%s, ctx ended, store open: %v; want context.Canceled alone", c.name, err)
		}
	}
	// A Load under the lock keeps its file open, which a Touch through
	// the Locked reused after Close, writing to a closed store.
	_, err = l.Load(context.Background())
	must(t, err)
	must(t, s.Close())
	if err := l.Touch(context.Background()); !errors.Is(err, fsstore.ErrClosed) {
		t.Errorf("Locked.Touch after a Load and Close: %v; want ErrClosed", err)
	}
	for _, c := range calls {
		for _, ctx := range []context.Context{ended, context.Background()} {
			if err := c.call(ctx); !errors.Is(err, fsstore.ErrClosed) || errors.Is(err, context.Canceled) {
				t.Errorf("%s, ctx ended %v, store closed: %v; want ErrClosed", c.name, ctx.Err() != nil, err)
			}
		}
	}
	if err := l.Unlock(); err != nil && !errors.Is(err, fsstore.ErrClosed) {
		t.Errorf("Unlock after Close: %v", err)
	}
}
