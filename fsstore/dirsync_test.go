//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// The shard exists, so that the failing sync is the record's
	// directory's, after the rename, not its parent's before the write.
	if err := os.MkdirAll(filepath.Dir(s.RecordPathForTest(id)), 0o700); err != nil {
		t.Fatal(err)
	}
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

// TestDirSyncNewShard: with DurabilityFull a save that creates its shard
// directories fsyncs the parent of each one before the record goes in, so
// that a power loss cannot keep the fsynced record and lose the entry that
// leads to it; a save into an existing shard syncs only the record's own
// directory. A failed sync of a parent saves nothing and the next save
// creates the directory, and syncs its parent, again.
func TestDirSyncNewShard(t *testing.T) {
	for _, depth := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("depth%d", depth), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityFull), fsstore.WithShardDepth(depth))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var synced []uint64 // inodes, in order
			record := func(fd int) error {
				var st syscall.Stat_t
				if err := syscall.Fstat(fd, &st); err != nil {
					return err
				}
				synced = append(synced, uint64(st.Ino))
				return syscall.Fsync(fd)
			}
			s.SetDirSyncForTest(record)
			defer s.SetDirSyncForTest(nil)
			ino := func(p string) uint64 {
				t.Helper()
				var st syscall.Stat_t
				if err := syscall.Stat(p, &st); err != nil {
					t.Fatal(err)
				}
				return uint64(st.Ino)
			}
			sess := &fsstore.Session{ID: newID(t), Data: []byte("x")}
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			// data/, then each new shard directory but the last, then the
			// record's own directory.
			shard := filepath.Dir(s.RecordPathForTest(sess.ID))
			var want []uint64
			for d := shard; d != dir; d = filepath.Dir(d) {
				want = append([]uint64{ino(d)}, want...)
			}
			if fmt.Sprint(synced) != fmt.Sprint(want) {
				t.Fatalf("a save creating %d shard directories synced directories %v; want %v (data/ and the new ones, parents first, then the record's)", depth, synced, want)
			}
			synced = nil
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(synced) != fmt.Sprint([]uint64{ino(shard)}) {
				t.Errorf("a save into an existing shard synced %v; want only its directory %v", synced, ino(shard))
			}

			// A parent's sync fails: nothing saved, the directory gone,
			// and the next save syncs its parent.
			other := &fsstore.Session{ID: newIDInOtherShard(t, s, dir, sess.ID), Data: []byte("y")}
			s.SetDirSyncForTest(func(int) error { return syscall.EIO })
			err = s.Save(ctx, other)
			if !errors.Is(err, syscall.EIO) || errors.Is(err, fsstore.ErrInDoubt) {
				t.Fatalf("save with its new shard's parent sync failing: %v; want the sync's error, not in doubt", err)
			}
			otherShard := filepath.Dir(s.RecordPathForTest(other.ID))
			if _, err := os.Lstat(otherShard); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the new shard directory whose parent's sync failed is still there (%v)", err)
			}
			if _, err := s.Load(ctx, other.ID); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load after the failed save: %v; want ErrNotFound", err)
			}
			synced = nil
			s.SetDirSyncForTest(record)
			if err := s.Save(ctx, other); err != nil {
				t.Fatal(err)
			}
			if len(synced) < 2 || synced[len(synced)-1] != ino(otherShard) || synced[len(synced)-2] != ino(filepath.Dir(otherShard)) {
				t.Errorf("the save after the failed one synced %v; want the new shard's parent %v, then the shard %v", synced, ino(filepath.Dir(otherShard)), ino(otherShard))
			}
		})
	}
}

// TestDirSyncFailedLeavesOthersDirectory: a save whose parent sync fails
// removes the shard directory it created, so that the next save creates
// it and syncs its parent anew, but not one another writer created an
// instant before (its mkdir met EEXIST): that writer may be about to put
// its record in it.
func TestDirSyncFailedLeavesOthersDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityFull), fsstore.WithShardDepth(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess := &fsstore.Session{ID: newID(t), Data: []byte("x")}
	shard := filepath.Dir(s.RecordPathForTest(sess.ID)) // data/aa/bb
	calls := 0
	s.SetDirSyncForTest(func(fd int) error {
		calls++
		if calls == 1 {
			// data/ synced after data/aa was made: another writer makes
			// data/aa/bb now, before this save's own mkdir of it.
			if err := os.Mkdir(shard, 0o700); err != nil {
				return err
			}
			return nil
		}
		return syscall.EIO // data/aa's sync, after the mkdir met EEXIST
	})
	defer s.SetDirSyncForTest(nil)
	if err := s.Save(ctx, sess); !errors.Is(err, syscall.EIO) {
		t.Fatalf("save with the shard's parent sync failing: %v; want the sync's error", err)
	}
	if _, err := os.Lstat(shard); err != nil {
		t.Errorf("the shard directory another writer made was removed by the failed save: %v", err)
	}
}

// newIDInOtherShard returns a new session ID whose record is in another
// top-level shard directory (below data/ in the store at dir) than id's.
func newIDInOtherShard(t *testing.T, s *fsstore.Store, dir, id string) string {
	t.Helper()
	top := func(id string) string {
		rel, err := filepath.Rel(filepath.Join(dir, "data"), s.RecordPathForTest(id))
		if err != nil {
			t.Fatal(err)
		}
		return strings.SplitN(rel, string(filepath.Separator), 2)[0]
	}
	for {
		if other := newID(t); top(other) != top(id) {
			return other
		}
	}
}
