//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestDirSyncFailedInDoubt: with DurabilityFull a save fsyncs the record's
// directory after the rename that published it. When that fsync fails the
// record is already there for every reader, so the save must not say it
// did not happen (a plain I/O error, which an HTTP server answers with
// 503, "not saved, retry"): it is in doubt, and the record it published
// is the one Load returns.
func TestDirSyncFailedInDoubt(t *testing.T) {
	writes := []struct {
		name string
		save func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error
	}{
		{"Save", func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
			return s.Save(ctx, sess)
		}},
		{"Locked.Save", func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
			l, err := s.Lock(ctx, sess.ID, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			return l.Save(ctx, sess)
		}},
		{"CompareAndSwap", func(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
			return s.CompareAndSwap(ctx, sess)
		}},
	}
	for _, bounded := range []bool{false, true} {
		for _, w := range writes {
			name := w.name
			if bounded {
				name += "/bounded"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				opts := []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityFull)}
				if bounded {
					opts = append(opts, fsstore.WithMaxInFlight(4))
				}
				s, err := fsstore.Open(t.TempDir(), opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				sess := &fsstore.Session{ID: "dir-sync-fails-after-rename", Data: []byte("first")}
				if err := w.save(ctx, s, sess); err != nil {
					t.Fatal(err)
				}
				s.SetDirSyncForTest(func(int) error { return syscall.EIO })
				sess.Data = []byte("second")
				err = w.save(ctx, s, sess)
				s.SetDirSyncForTest(nil)
				if !errors.Is(err, fsstore.ErrInDoubt) || !errors.Is(err, syscall.EIO) {
					t.Fatalf("save with its directory fsync failing: %v; want ErrInDoubt and the fsync's error", err)
				}
				if errors.Is(err, fsstore.ErrUnavailable) {
					t.Errorf("save: %v; the store answered, it is not unavailable", err)
				}
				got, err := s.Load(ctx, sess.ID)
				if err != nil || string(got.Data) != "second" {
					t.Fatalf("Load after the in-doubt save: %v, %v; want the record it published", got, err)
				}
			})
		}
	}
}
