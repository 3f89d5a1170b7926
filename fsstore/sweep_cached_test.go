//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// statLog counts, per record name, the stats the sweep judged it by.
type statLog struct {
	mu            sync.Mutex
	cached, fresh map[string]int
	// cachedMtime, when set for a name, replaces the mtime of its cached
	// attributes: what a client whose cache is older than the file shows.
	cachedMtime map[string]time.Time
}

func (l *statLog) hook(name string, cached bool, mtime time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !cached {
		l.fresh[name]++
		return mtime
	}
	l.cached[name]++
	if m, ok := l.cachedMtime[name]; ok {
		return m
	}
	return mtime
}

// saveRecord saves a new one-byte session in s and returns its record's
// file name and path.
func saveRecord(t *testing.T, s *fsstore.Store) (name, path string) {
	t.Helper()
	id := newID(t)
	if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	return filepath.Base(p), p
}

// On NFS a record's attributes from the client's cache cost no round trip,
// where a fresh stat of a file whose cached attributes expired costs a
// GETATTR. The sweep judges a record by the cached ones first, and trusts
// them only to keep it: a cached mtime is never newer than the server's
// (the record's mtime only moves forward), so a record they show live is
// live. Whatever else they show, a fresh stat decides, so the removal path
// sees what it sees without them. The cases stand in for a stale cache by
// replacing the cached mtime.
func TestSweepJudgesLiveFromCachedAttributes(t *testing.T) {
	if !fsstore.SweepJudgesCachedFirstForTest {
		t.Skip("the sweep judges by a fresh stat alone on this platform")
	}
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(testIdle))
	save := func() (string, string) { return saveRecord(t, s) }
	live, livePath := save()
	expired, expiredPath := save()
	age(t, expiredPath)
	// Live by the file, expired by the cache: a client that cached the
	// attributes before a Touch or Save renewed it.
	renewed, renewedPath := save()
	// Live by the cache, expired by the file: only an mtime set back (a
	// restore by hand) does this. Kept, as the cache says.
	setBack, setBackPath := save()
	age(t, setBackPath)
	// Young, but too short to be a record: foreign however the cache
	// shows it, which the fresh stat decides as without the cache.
	short := live[:len(live)-1] + "0"
	if short == live {
		short = live[:len(live)-1] + "1"
	}
	shortPath := filepath.Join(filepath.Dir(livePath), short)
	if err := os.WriteFile(shortPath, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}

	log := &statLog{cached: map[string]int{}, fresh: map[string]int{}, cachedMtime: map[string]time.Time{
		renewed: longAgo,
		setBack: time.Now(),
	}}
	s.SetSweepJudgeStatHookForTest(log.hook)
	s.SetSweepCachedFirstForTest()
	st, err := s.Sweep(ctx, sweepOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		what, name, path string
		fresh            int
		kept             bool
	}{
		{"live", live, livePath, 0, true},
		{"expired", expired, expiredPath, 1, false},
		{"live, cached expired", renewed, renewedPath, 1, true},
		{"expired, cached live", setBack, setBackPath, 0, true},
		{"too short for a record", short, shortPath, 1, true},
	}
	for _, w := range want {
		if log.cached[w.name] != 1 || log.fresh[w.name] != w.fresh {
			t.Errorf("%s: judged by %d cached and %d fresh stats, want 1 and %d", w.what, log.cached[w.name], log.fresh[w.name], w.fresh)
		}
		if exists(t, w.path) != w.kept {
			t.Errorf("%s: kept %v, want %v", w.what, !w.kept, w.kept)
		}
	}
	// The short file is counted live, as without the cached look: the
	// sweep counts every young file named like a record in its shard.
	if st.Live != 4 || st.Sessions != 1 || st.Errors != 0 {
		t.Errorf("sweep %+v: want 4 live (the short file among them), 1 removed, no errors", st)
	}

	// With the cache caught up, the next sweep removes the record whose
	// mtime was set back.
	delete(log.cachedMtime, setBack)
	delete(log.cachedMtime, renewed)
	if st, err = s.Sweep(ctx, sweepOpts); err != nil {
		t.Fatal(err)
	}
	if exists(t, setBackPath) || st.Sessions != 1 {
		t.Errorf("second sweep %+v: the record with its mtime set back is still there", st)
	}
}

// Off NFS a stat is the file system's own answer, with no client cache to
// be stale, so the sweep judges each record by one stat: a second one for
// a record that looks expired would repeat the first, a system call per
// expired record for nothing.
func TestSweepStatsOnceOffNFS(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(testIdle))
	if s.OnNFS() {
		t.Skip("the store is on NFS, where the sweep looks at cached attributes first")
	}
	var names []string
	for _, aged := range []bool{false, true, false, true} {
		name, p := saveRecord(t, s)
		if aged {
			age(t, p)
		}
		names = append(names, name)
	}
	log := &statLog{cached: map[string]int{}, fresh: map[string]int{}}
	s.SetSweepJudgeStatHookForTest(log.hook)
	st, err := s.Sweep(ctx, sweepOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if got := log.cached[n] + log.fresh[n]; got != 1 {
			t.Errorf("%s: judged by %d cached and %d fresh stats, want one stat", n, log.cached[n], log.fresh[n])
		}
	}
	if st.Live != 2 || st.Sessions != 2 || st.Errors != 0 {
		t.Errorf("sweep %+v: want 2 live, 2 removed, no errors", st)
	}
}
