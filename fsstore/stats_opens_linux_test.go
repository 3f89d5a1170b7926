package fsstore_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestStatsOpensLocksOnce: Stats opened the lock directory twice, once
// to look at each file in it and once more to list it: an openat2 each
// (an openat walk where openat2 is refused), and on NFS a GETATTR by
// close-to-open for the listing's. It lists the descriptor it looks in,
// as it does each shard, under both lock strategies (the lease one's
// files are stat'ed there too).
func TestStatsOpensLocksOnce(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(strategy))
			id := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			must(t, err)
			defer l.Unlock()
			locks := filepath.Join(dir, fsstore.LockDir)
			var opens atomic.Int64
			s.SetOpenHookForTest(func(p string) {
				if p == locks {
					opens.Add(1)
				}
			})
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			s.SetOpenHookForTest(nil)
			if err != nil || st.Live != 1 || st.Errors != 0 || st.Foreign != 0 {
				t.Fatalf("stats: %+v, %v; want 1 live session, no error, nothing foreign", st, err)
			}
			if strategy == lock.Lease && st.Leases != 1 || strategy != lock.Lease && st.LockFiles == 0 {
				t.Errorf("stats: %d lock files, %d leases; want the held lock's file counted", st.LockFiles, st.Leases)
			}
			if n := opens.Load(); n != 1 {
				t.Errorf("%s opened %d times by Stats, want 1", locks, n)
			}
		})
	}
}

// TestSweepOpensLocksOnce: the sweep's pass over the lock directory
// listed it, then opened it again for each lease file's stat (an openat2
// each, an openat walk where openat2 is refused, and on NFS a lookup of
// the path). It lists the descriptor it looks at each file in, as Stats
// does, under both lock strategies; the removals of expired leases and
// of a dead breaker's leftover go through that descriptor and one more
// open of the lock package's for them all (not counted here: it is not
// the store's), where each opened the directory again.
func TestSweepOpensLocksOnce(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(strategy))
			id := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			must(t, err)
			defer l.Unlock()
			locks := filepath.Join(dir, fsstore.LockDir)
			old := time.Now().Add(-time.Hour)
			for _, name := range []string{"0a01.lease", "0a02.lease", "0a03.lease"} {
				writeAgedContent(t, filepath.Join(locks, name), deadLease(), old)
			}
			writeAgedContent(t, filepath.Join(locks, "0a04.lease.broken-0123"), "left by a breaker that died", old)
			var opens atomic.Int64
			s.SetOpenHookForTest(func(p string) {
				if p == locks {
					opens.Add(1)
				}
			})
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			s.SetOpenHookForTest(nil)
			if err != nil || st.Live != 1 || st.Leases != 4 || st.Errors != 0 || st.Foreign != 0 {
				t.Fatalf("sweep: %+v, %v; want 1 live session, 4 leases removed, no error, nothing foreign", st, err)
			}
			if n := opens.Load(); n != 1 {
				t.Errorf("%s opened %d times by the sweep, want 1", locks, n)
			}
		})
	}
}
