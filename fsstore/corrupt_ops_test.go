package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// A damaged record, for the operations TestCorruptRecords,
// TestReplaceCorruptRecord and TestTouchRefusesDamagedRecord leave out:
// LoadInto (on the store and under a lock) reports ErrCorrupt; Delete
// (both) removes it, the way out for a user whose session is damaged;
// Rekey reports it as ErrCorrupt, rewrites every other record and leaves
// the damaged one as it was; Stats and Sweep keep it while it is young.
// Another session is never touched.
func TestCorruptRecordOtherOperations(t *testing.T) {
	damages := []struct {
		name string
		do   func(b []byte) []byte
	}{
		{"cut", func(b []byte) []byte { return b[:len(b)/2] }},
		{"empty", func([]byte) []byte { return nil }},
		{"garbage", func([]byte) []byte { return bytes.Repeat([]byte("garbage "), 16) }},
		{"flipped", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
	}
	ops := []struct {
		name    string
		want    error // nil: success
		removes bool  // the damaged record is gone afterwards
		do      func(ctx context.Context, s *fsstore.Store, id string) error
	}{
		{"LoadInto", fsstore.ErrCorrupt, false, func(ctx context.Context, s *fsstore.Store, id string) error {
			_, err := s.LoadInto(ctx, id, make([]byte, 0, 256))
			return err
		}},
		{"Locked.LoadInto", fsstore.ErrCorrupt, false, func(ctx context.Context, s *fsstore.Store, id string) error {
			return underLock(ctx, s, id, func(l *fsstore.Locked) error {
				_, err := l.LoadInto(ctx, make([]byte, 0, 256))
				return err
			})
		}},
		{"Delete", nil, true, func(ctx context.Context, s *fsstore.Store, id string) error { return s.Delete(ctx, id) }},
		{"Locked.Delete", nil, true, func(ctx context.Context, s *fsstore.Store, id string) error {
			return underLock(ctx, s, id, func(l *fsstore.Locked) error { return l.Delete(ctx) })
		}},
		{"Rekey", fsstore.ErrCorrupt, false, func(ctx context.Context, s *fsstore.Store, _ string) error {
			var errs []error
			st, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { errs = append(errs, err) }})
			if err != nil {
				return err
			}
			if st.Rekeyed != 1 || st.Errors != 1 || len(errs) != 1 {
				return fmt.Errorf("Rekey: %+v, %d errors reported; want the other record rewritten and one error", st, len(errs))
			}
			return errs[0]
		}},
		{"Stats", nil, false, func(ctx context.Context, s *fsstore.Store, _ string) error {
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err == nil && st.Expired != 0 {
				return fmt.Errorf("Stats: %d expired, want 0", st.Expired)
			}
			return err
		}},
		{"Sweep", nil, false, func(ctx context.Context, s *fsstore.Store, _ string) error {
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err == nil && (st.Removed() != 0 || st.Errors != 0) {
				return fmt.Errorf("Sweep: %+v, want nothing removed", st)
			}
			return err
		}},
	}
	for _, d := range damages {
		for _, op := range ops {
			t.Run(d.name+"/"+op.name, func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				k1, k2 := mustKey(t, 1), mustKey(t, 2)
				old := openDir(t, dir, fsstore.WithKeys(k1))
				id, other := newID(t), newID(t)
				for _, sid := range []string{id, other} {
					if err := old.Save(ctx, &fsstore.Session{ID: sid, Data: []byte("kept")}); err != nil {
						t.Fatal(err)
					}
				}
				old.Close()
				s := openDir(t, dir, fsstore.WithKeys(k2, k1))
				p := s.RecordPathForTest(id)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b = d.do(b)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}

				err = op.do(ctx, s, id)
				switch {
				case op.want == nil && err != nil:
					t.Errorf("%s with a %s record: %v, want success", op.name, d.name, err)
				case op.want != nil && !errors.Is(err, op.want):
					t.Errorf("%s with a %s record: %v, want %v", op.name, d.name, err, op.want)
				}
				got, rerr := os.ReadFile(p)
				switch {
				case op.removes && !errors.Is(rerr, os.ErrNotExist):
					t.Errorf("after %s the damaged record is still there (%v)", op.name, rerr)
				case op.removes:
					if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
						t.Errorf("Load after %s: %v, want ErrNotFound", op.name, err)
					}
				case rerr != nil || !bytes.Equal(got, b):
					t.Errorf("after %s the damaged record changed (%v)", op.name, rerr)
				}
				mustLoad(t, s, other, "kept")
			})
		}
	}
}

// underLock runs fn on id's session locked Exclusive.
func underLock(ctx context.Context, s *fsstore.Store, id string, fn func(l *fsstore.Locked) error) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return fn(l)
}
