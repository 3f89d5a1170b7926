//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
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

// TestDirSyncFailedLockLost: a locked save whose lock is lost while its
// directory fsync fails reports both, as a lock found lost right after a
// save that went through is reported (ErrLockLost with ErrInDoubt).
func TestDirSyncFailedLockLost(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// The lease strategy stands in for a lock taken away: the test
	// removes the lease file.
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityFull), fsstore.WithLockStrategy(lock.Lease))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := "dir-sync-fails-lock-lost"
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	s.SetDirSyncForTest(func(int) error {
		if err := os.Remove(filepath.Join(dir, "locks", s.StripeForTest(id)+".lease")); err != nil {
			t.Error(err)
		}
		return syscall.EIO
	})
	err = l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
	s.SetDirSyncForTest(nil)
	if !errors.Is(err, fsstore.ErrInDoubt) || !errors.Is(err, fsstore.ErrLockLost) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("locked save, lock lost as its directory fsync failed: %v; want ErrInDoubt, ErrLockLost and the fsync's error", err)
	}
}

// TestDirSyncFailedRekey: a record that Rekey rewrote although its
// directory fsync failed keeps its last-activity time, as every rekeyed
// record does (rekeying is not activity), and counts as an error.
func TestDirSyncFailedRekey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	s1, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	if err := s1.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	p := s1.RecordPathForTest(id)
	old := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	s2, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithDurability(fsstore.DurabilityFull))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.SetDirSyncForTest(func(int) error { return syscall.EIO })
	var recErr error
	st, err := s2.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { recErr = err }})
	s2.SetDirSyncForTest(nil)
	if err != nil || st.Errors != 1 || !errors.Is(recErr, fsstore.ErrInDoubt) {
		t.Fatalf("rekey with the directory fsync failing: %+v, %v, the record's error %v; want one error matching ErrInDoubt", st, err, recErr)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("the rewritten record's mtime is %v; want its last activity %v kept", fi.ModTime(), old)
	}
	// It was rewritten under the new key: the next pass finds it done.
	if st, err := s2.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.UpToDate != 1 {
		t.Errorf("second rekey pass: %+v, %v; want the record up to date", st, err)
	}
}
