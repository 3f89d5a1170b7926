//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// Stats opens each directory it counts in once and looks at its files by
// name in it, as the sweep does: a look by path resolved the whole path
// below the store again, an open (openat2 on Linux, one per directory
// level elsewhere) per file, 10,262 of them for 10,000 sessions. The
// store's directory descriptor is in use for each such resolution ("root"
// in the test hook), so their number, counted there, is the same for a
// shard of a few files as for one of hundreds: records, live and expired,
// temp files, stripe lock files and lease files.
func TestStatsResolvesEachDirectoryOnce(t *testing.T) {
	ctx := context.Background()
	var resolutions atomic.Int64
	s := openTemp(t, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(testIdle),
		fsstore.WithTestFSForTest(func(site string) {
			if site == "root" {
				resolutions.Add(1)
			}
		}))
	data := filepath.Join(s.Dir(), fsstore.DataDir)
	locks := filepath.Join(s.Dir(), fsstore.LockDir)
	add := func(n int) {
		for i := range n {
			_, p := saveRecord(t, s)
			if i%2 == 0 {
				age(t, p)
			}
			writeAged(t, filepath.Join(data, fmt.Sprintf(".tmp-stats-%d-%s", i, filepath.Base(p))), 10, time.Now())
			writeAged(t, filepath.Join(locks, fmt.Sprintf("%s.lease", filepath.Base(p)[:4])), 160, time.Now())
			l, err := s.Lock(ctx, filepath.Base(p), fsstore.Exclusive) // its stripe's lock file
			if err != nil {
				t.Fatal(err)
			}
			l.Unlock()
		}
	}
	count := func() (fsstore.Stats, int64) {
		t.Helper()
		resolutions.Store(0)
		st, err := s.Stats(ctx, fsstore.StatsOptions{Grace: time.Nanosecond})
		if err != nil || st.Errors != 0 {
			t.Fatalf("stats: %+v, %v", st, err)
		}
		return st, resolutions.Load()
	}
	add(4)
	few, fewN := count()
	add(196)
	many, manyN := count()
	if many.Live != 100 || many.Expired != 100 || many.Temps != 200 || many.Leases < 100 || many.LockFiles < 100 {
		t.Fatalf("stats %+v: want 100 live, 100 expired, 200 temp files, 100 leases and stripe lock files at least", many)
	}
	t.Logf("%d resolutions below the store for %d files, %d for %d", fewN, few.Live+few.Expired+few.Temps+few.Leases+few.LockFiles,
		manyN, many.Live+many.Expired+many.Temps+many.Leases+many.LockFiles)
	if manyN != fewN {
		t.Errorf("Stats resolved paths below the store %d times for 200 records, 200 temp files and their lock files, %d times for 4 of each: "+
			"a resolution per file, not per directory", manyN, fewN)
	}
}

// Stats judges ages by the store's clock where the store has one of its
// own (WithClock), as Save, Touch and Sweep do: by the server's clock a
// record saved under a clock set hours ahead was counted live hours after
// the sweep would remove it, and one saved under a clock set back counted
// expired while the sweep kept it.
func TestStatsJudgesByWithClock(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		readOnly bool
	}{
		{"writable", false},
		{"read-only", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			clock.Advance(-48 * time.Hour) // the store's clock lags the host's by two days
			dir := t.TempDir()
			w := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
			stats := w
			if tc.readOnly {
				stats = openDir(t, dir, fsstore.WithReadOnly(), fsstore.WithClock(clock.Now))
			}
			gone, kept := newID(t), newID(t)
			for _, id := range []string{gone, kept} {
				if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(50 * time.Minute)
			if err := w.Touch(ctx, kept); err != nil {
				t.Fatal(err)
			}
			clock.Advance(50 * time.Minute) // gone is 100 minutes idle, kept 50
			st, err := stats.Stats(ctx, fsstore.StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Live != 1 || st.Expired != 1 || st.HostClock {
				t.Errorf("stats by the store's clock: %+v; want 1 live, 1 expired, not judged by the host's clock", st)
			}
			if want := clock.Now().Add(-50*time.Minute + time.Hour); !st.NewestExpiry.Equal(want) {
				t.Errorf("newest expiry %v, want %v: the touched record's mtime plus the max idle", st.NewestExpiry, want)
			}
			sw, err := w.Sweep(ctx, fsstore.SweepOptions{DryRun: true})
			if err != nil || sw.Sessions != st.Expired || sw.Live != st.Live {
				t.Errorf("a dry-run sweep by the same clock: %+v, %v; Stats said %d live, %d expired", sw, err, st.Live, st.Expired)
			}
		})
	}
}

// Stats judges records by the marker's max idle, as the sweep does, and,
// like it, reads the marker again once its reading is the max idle old: a
// process that raises it and saves a record relying on it after Stats
// began, in a shard Stats has not listed yet, is counted by the new value
// when a long Stats (a large store on a slow server) gets there. The
// record keeps its session a day and is two hours idle then; by the
// marker Stats read first (an hour) it was counted expired, where the
// sweep keeps it.
func TestStatsRereadsMarkerRaisedWhileItRuns(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	gc := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
	// Stats goes on for two hours.
	m := saveMidScan(t, gc, func() (*fsstore.Store, *fsstore.Session) {
		return openDir(t, dir, fsstore.WithIdleTimeout(24*time.Hour), fsstore.WithClock(clock.Now)), &fsstore.Session{Data: []byte("day")}
	}, clock, 2*time.Hour)
	st, err := gc.Stats(ctx, fsstore.StatsOptions{})
	gc.SetSweepRelistHookForTest(nil)
	if err != nil || st.Errors != 0 {
		t.Fatalf("stats: %+v, %v", st, err)
	}
	m.saved(t)
	if st.Live != 1 || st.Expired != 0 || st.MaxIdle != 24*time.Hour {
		t.Errorf("stats %+v: want the record saved 2h ago with a day's idle timeout live, by the marker raised to a day "+
			"while Stats ran, not by the hour it said when Stats began", st)
	}
	if sw, err := gc.Sweep(ctx, fsstore.SweepOptions{DryRun: true}); err != nil || sw.Sessions != 0 || sw.Live != 1 {
		t.Errorf("dry-run sweep: %+v, %v; want the record live", sw, err)
	}
}
