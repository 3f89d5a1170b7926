package fsstore_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// A corrupt record is not a dead end: a locked Save or a CompareAndSwap
// with version 0 (creating the session) replaces it, and Load sees the new
// record. A CompareAndSwap expecting a version still fails, with
// ErrCorrupt: what the caller read is not what is on disk.
func TestReplaceCorruptRecord(t *testing.T) {
	damage := []struct {
		name string
		do   func(t *testing.T, s *fsstore.Store, p string, b []byte) []byte
	}{
		{"bit flip", func(t *testing.T, s *fsstore.Store, p string, b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"truncated", func(t *testing.T, s *fsstore.Store, p string, b []byte) []byte { return b[:len(b)/2] }},
		{"zero-length", func(t *testing.T, s *fsstore.Store, p string, b []byte) []byte { return nil }},
		{"another ID's record", func(t *testing.T, s *fsstore.Store, p string, b []byte) []byte {
			other := newID(t)
			if err := s.Save(context.Background(), &fsstore.Session{ID: other, Data: []byte("other")}); err != nil {
				t.Fatal(err)
			}
			ob, err := os.ReadFile(s.RecordPathForTest(other))
			if err != nil {
				t.Fatal(err)
			}
			return ob
		}},
	}
	replace := []struct {
		name    string
		version uint64
		replace func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error
		wantErr error // nil: the record is replaced
	}{
		{"CompareAndSwap version 0", 0, func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
			return s.CompareAndSwap(ctx, sess)
		}, nil},
		{"CompareAndSwap version 2", 2, func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
			return s.CompareAndSwap(ctx, sess)
		}, fsstore.ErrCorrupt},
		{"Locked.Save", 2, func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
			l, err := s.Lock(ctx, sess.ID, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			if _, err := l.Load(ctx); !errors.Is(err, fsstore.ErrCorrupt) {
				return errors.New("Locked.Load did not report the damage")
			}
			return l.Save(ctx, sess)
		}, nil},
	}
	for _, d := range damage {
		for _, r := range replace {
			t.Run(d.name+"/"+r.name, func(t *testing.T) {
				ctx := context.Background()
				s := openTemp(t)
				id := newID(t)
				for range 2 {
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("before")}); err != nil {
						t.Fatal(err)
					}
				}
				p := s.RecordPathForTest(id)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, d.do(t, s, p, b), 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
					t.Fatalf("Load of the damaged record: %v, want ErrCorrupt", err)
				}
				err = r.replace(ctx, s, &fsstore.Session{ID: id, Data: []byte("after"), Version: r.version})
				if r.wantErr != nil {
					if !errors.Is(err, r.wantErr) {
						t.Fatalf("%s: %v, want %v", r.name, err, r.wantErr)
					}
					if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
						t.Errorf("after a refused %s, Load: %v, want ErrCorrupt still", r.name, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s over a corrupt record: %v", r.name, err)
				}
				mustLoad(t, s, id, "after")
			})
		}
	}
}
