package fsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

func openTemp(t *testing.T, opts ...fsstore.Option) *fsstore.Store {
	t.Helper()
	s, err := fsstore.Open(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"default", nil},
		{"depth0-nosync", []fsstore.Option{fsstore.WithShardDepth(0), fsstore.WithDurability(fsstore.DurabilityNone)}},
		{"depth2-full", []fsstore.Option{fsstore.WithShardDepth(2), fsstore.WithDurability(fsstore.DurabilityFull)}},
		{"cache", []fsstore.Option{fsstore.WithCache(100, 1<<20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t, tc.opts...)
			id := newID(t)
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Fatalf("Load of new ID: %v, want ErrNotFound", err)
			}
			sess := &fsstore.Session{ID: id, Data: []byte("hello")}
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				got, err := s.Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Data) != "hello" || got.Version != sess.Version || got.Version == 0 {
					t.Fatalf("got %q v%d", got.Data, got.Version)
				}
			}
			sess.Data = []byte("world")
			first := sess.Version
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, id)
			if err != nil || string(got.Data) != "world" || got.Version != first+1 {
				t.Fatalf("after resave: %v %q v%d", err, got.Data, got.Version)
			}
			if err := s.Touch(ctx, id); err != nil {
				t.Fatal(err)
			}
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			got, err = l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got.Data = append(got.Data, '!')
			if err := l.Save(ctx, got); err != nil {
				t.Fatal(err)
			}
			if err := l.Unlock(); err != nil {
				t.Fatal(err)
			}
			stale := &fsstore.Session{ID: id, Data: []byte("x"), Version: first}
			if err := s.CompareAndSwap(ctx, stale); !errors.Is(err, fsstore.ErrConflict) {
				t.Fatalf("CAS with stale version: %v", err)
			}
			if err := s.CompareAndSwap(ctx, got); err != nil {
				t.Fatalf("CAS: %v", err)
			}
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", st)
		})
	}
}

func mustLoad(t *testing.T, s *fsstore.Store, id, want string) {
	t.Helper()
	sess, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(sess.Data) != want {
		t.Fatalf("Load: %q, want %q", sess.Data, want)
	}
}

func openDir(t *testing.T, dir string, opts ...fsstore.Option) *fsstore.Store {
	t.Helper()
	s, err := fsstore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
