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
