//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// Stats counts a record live on the attributes the NFS client has cached,
// as the sweep keeps it on them, and trusts them for nothing else: a
// record they show expired, or not a record's size, is counted from a
// fresh stat, so that the expired count is what it was without the cached
// look. On a local filesystem the look is taken only when a test turns it
// on, and the hook stands in for a stale cache by replacing the cached
// mtime.
func TestStatsCountsLiveFromCachedAttributes(t *testing.T) {
	if !fsstore.SweepJudgesCachedFirstForTest {
		t.Skip("the scans judge by a fresh stat alone on this platform")
	}
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(time.Second))
	if s.OnNFS() {
		t.Skip("the temp directory is on NFS, where the scans look at cached attributes first anyway")
	}
	if s.LooksCachedFirstForTest() {
		t.Fatal("a store on a local filesystem takes the cached look: its attributes are fresh already, the look would double each stat")
	}
	var size int64
	save := func() (string, string) {
		name, p := saveRecord(t, s)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		size = fi.Size()
		return name, p
	}
	live, livePath := save()
	expired, expiredPath := save()
	age(t, expiredPath)
	// Live by the file, expired by the cache: a client that cached the
	// attributes before another host's Touch or Save renewed it.
	renewed, _ := save()
	// Live by the cache, expired by the file: only an mtime set back (a
	// restore by hand) does this. Counted live, as the sweep keeps it.
	setBack, setBackPath := save()
	age(t, setBackPath)
	// Young, but too short to be a record, and expired and too short:
	// whatever the cache shows, the fresh stat counts them as without it.
	dir := filepath.Dir(livePath)
	other := func(c byte) string {
		n := live[:len(live)-1] + string(c)
		if n == live {
			n = live[:len(live)-1] + string(c+1)
		}
		return n
	}
	short, shortOld := other('0'), other('2')
	if err := os.WriteFile(filepath.Join(dir, short), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeAged(t, filepath.Join(dir, shortOld), 5, longAgo)
	// A temp file is dated by a fresh stat alone (its ctime may date it).
	temp := ".tmp-stats-cached"
	if err := os.WriteFile(filepath.Join(dir, temp), []byte("temp"), 0o600); err != nil {
		t.Fatal(err)
	}

	log := &statLog{cached: map[string]int{}, fresh: map[string]int{}, cachedMtime: map[string]time.Time{
		renewed:  longAgo,
		setBack:  time.Now(),
		shortOld: time.Now(),
	}}
	s.SetSweepJudgeStatHookForTest(log.hook)
	s.SetSweepCachedFirstForTest()
	if !s.LooksCachedFirstForTest() {
		t.Fatal("SetSweepCachedFirstForTest did not turn the cached look on")
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		what, name    string
		cached, fresh int
	}{
		{"live", live, 1, 0},
		{"expired", expired, 1, 1},
		{"live, cached expired", renewed, 1, 1},
		{"expired, cached live", setBack, 1, 0},
		{"too short for a record", short, 1, 1},
		{"expired and too short, cached live", shortOld, 1, 1},
		{"temp file", temp, 0, 0},
	} {
		if log.cached[w.name] != w.cached || log.fresh[w.name] != w.fresh {
			t.Errorf("%s: judged by %d cached and %d fresh stats, want %d and %d", w.what, log.cached[w.name], log.fresh[w.name], w.cached, w.fresh)
		}
	}
	// Live: the three records and the young short file, which Stats
	// counts with the sessions as the sweep does. Expired: the aged
	// record alone; the aged short file is foreign.
	if st.Live != 4 || st.LiveBytes != 3*size+5 || st.Expired != 1 || st.ExpiredBytes != size ||
		st.Foreign != 1 || st.Temps != 1 || st.Errors != 0 {
		t.Errorf("stats %+v: want 4 live of %d bytes, 1 expired of %d, 1 foreign, 1 temp, no errors", st, 3*size+5, size)
	}

	// With the cache caught up, the record whose mtime was set back is
	// counted expired.
	clear(log.cachedMtime)
	if st, err = s.Stats(ctx, fsstore.StatsOptions{}); err != nil {
		t.Fatal(err)
	}
	if st.Live != 3 || st.Expired != 2 {
		t.Errorf("second stats %+v: want 3 live, 2 expired (the record with its mtime set back among them)", st)
	}
}
