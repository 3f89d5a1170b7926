//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// sweepOpts makes a record expire as soon as it is older than the store's
// largest idle timeout (testIdle in these tests).
var sweepOpts = fsstore.SweepOptions{Grace: time.Nanosecond}

// longAgo is the mtime age gives a record to make it expired.
var longAgo = time.Now().Add(-time.Hour)

// testIdle is the idle timeout of the tests that expire a record with age
// and expect the others to stay live: far below longAgo's hour, and far
// above the time any test takes, so that neither side depends on how
// fast the machine runs. With a second, a record saved at the start of a
// test expired before its last Load when the machine was busy.
const testIdle = 10 * time.Minute

func age(t *testing.T, p string) {
	t.Helper()
	if err := os.Chtimes(p, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, p string) bool {
	t.Helper()
	_, err := os.Lstat(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// distinctIDs returns n IDs on pairwise distinct lock stripes, so that a
// lock held on one cannot make the sweep skip another.
func distinctIDs(t *testing.T, s *fsstore.Store, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	var ids []string
	for len(ids) < n {
		id := newID(t)
		if st := s.StripeForTest(id); !seen[st] {
			seen[st] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func writeOld(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	age(t, p)
}

// Sweep removes expired sessions, also those a request holds locked (in
// this process or another: the lock orders requests among themselves, and
// a request cannot revive an expired session, see Store.Touch), keeps live
// ones and files the store did not write, and a lock holder that saves
// after the sweep has its session back. DryRun removes nothing.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(testIdle))
	ids := distinctIDs(t, s, 5)
	live, expired, expired2, lockedHere, lockedThere := ids[0], ids[1], ids[2], ids[3], ids[4]
	for _, id := range ids {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id[:4])}); err != nil {
			t.Fatal(err)
		}
		if id != live {
			age(t, s.RecordPathForTest(id))
		}
	}
	l, err := s.Lock(ctx, lockedHere, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	kid := startChild(t, "hold-lock", []string{"STORE_DIR=" + dir, "STORE_ID=" + lockedThere})
	kid.Expect(t, "locked")

	data := filepath.Join(dir, fsstore.DataDir)
	shard := filepath.Dir(s.RecordPathForTest(live))
	hexName := strings.Repeat("ab", 16)
	foreign := []string{
		filepath.Join(dir, "README"),
		filepath.Join(data, "README"),
		filepath.Join(shard, "README"),
		filepath.Join(shard, "readme.txt"),
		filepath.Join(data, hexName),                        // record-like name outside any shard
		filepath.Join(data, "zz", hexName),                  // inside a directory that is no shard
		filepath.Join(data, "abc", hexName),                 // ditto
		filepath.Join(dir, fsstore.LockDir, hexName),        // in the lock directory
		filepath.Join(shard, strings.ToUpper(hexName)),      // upper-case hex: not a record name
		filepath.Join(shard, hexName[:31]),                  // too short
		filepath.Join(shard, hexName+"0"),                   // too long
		filepath.Join(shard, "."+hexName),                   // dot file
		filepath.Join(shard, strings.Repeat("cd", 16), "x"), // directory named like a record
	}
	for _, p := range foreign {
		writeOld(t, p)
	}
	age(t, filepath.Join(shard, strings.Repeat("cd", 16)))

	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 4 || st.SkippedLocked != 0 {
		t.Errorf("dry run stats %+v: want Sessions 4, SkippedLocked 0", st)
	}
	for _, id := range ids {
		if !exists(t, s.RecordPathForTest(id)) {
			t.Fatalf("dry run removed session %s", id[:6])
		}
	}

	st, err = s.Sweep(ctx, sweepOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sweep: %+v", st)
	if st.Sessions != 4 || st.SkippedLocked != 0 || st.Live != 1 || st.Errors != 0 {
		t.Errorf("sweep stats %+v: want Sessions 4, SkippedLocked 0, Live 1, Errors 0", st)
	}
	for _, id := range []string{expired, expired2, lockedHere, lockedThere} {
		if exists(t, s.RecordPathForTest(id)) {
			t.Errorf("expired session %s not removed", id[:6])
		}
	}
	if !exists(t, s.RecordPathForTest(live)) {
		t.Errorf("live session %s removed", live[:6])
	}
	mustLoad(t, s, live, live[:4])
	if err := l.Save(ctx, &fsstore.Session{ID: lockedHere, Data: []byte("saved")}); err != nil {
		t.Fatalf("the lock holder's Save after the sweep: %v", err)
	}
	mustLoad(t, s, lockedHere, "saved")
	for _, p := range foreign {
		if !exists(t, p) {
			t.Errorf("sweep removed a foreign file %s", p)
		}
	}

	l.Unlock()
	kid.Finish(t)
	if _, err := s.Sweep(ctx, sweepOpts); err != nil {
		t.Fatal(err)
	}
	for _, p := range foreign {
		if !exists(t, p) {
			t.Errorf("second sweep removed a foreign file %s", p)
		}
	}
}

// SweepStats.LiveBytes is the size on disk of the live records the sweep
// kept, to the byte: neither the expired records it removed, nor foreign
// files, nor temp files count. Stats, which reads the same attributes,
// agrees.
func TestSweepLiveBytes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		live, expired []int // payload sizes
	}{
		{"empty store", nil, nil},
		{"only expired", nil, []int{100, 2000}},
		{"live and expired", []int{0, 1, 1000, 70000}, []int{5000}},
		{"many live", []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 300000}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithIdleTimeout(testIdle))
			save := func(n int) string {
				id := newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(strings.Repeat("x", n))}); err != nil {
					t.Fatal(err)
				}
				return s.RecordPathForTest(id)
			}
			var want int64
			for _, n := range tc.live {
				fi, err := os.Stat(save(n))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() < int64(n) {
					t.Fatalf("record of %d payload bytes is %d bytes", n, fi.Size())
				}
				want += fi.Size()
			}
			for _, n := range tc.expired {
				age(t, save(n))
			}
			writeOld(t, filepath.Join(dir, fsstore.DataDir, "README"))
			stats, err := s.Stats(ctx, fsstore.StatsOptions{Grace: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.Sweep(ctx, sweepOpts)
			if err != nil {
				t.Fatal(err)
			}
			if st.Live != int64(len(tc.live)) || st.LiveBytes != want || st.Sessions != int64(len(tc.expired)) {
				t.Errorf("sweep: Live %d, LiveBytes %d, Sessions %d; want %d, %d, %d",
					st.Live, st.LiveBytes, st.Sessions, len(tc.live), want, len(tc.expired))
			}
			if stats.LiveBytes != st.LiveBytes {
				t.Errorf("Stats says %d live bytes, Sweep %d", stats.LiveBytes, st.LiveBytes)
			}
		})
	}
}

// A file with a record name in the wrong shard directory was not written by
// the store (the store writes a record only into the shard its name
// selects), so the sweep must leave it alone.
func TestSweepRecordNameInWrongShard(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	shard := filepath.Base(filepath.Dir(p))
	wrong := "00"
	if shard == wrong {
		wrong = "01"
	}
	stray := filepath.Join(filepath.Dir(filepath.Dir(p)), wrong, strings.Repeat("ff", 16))
	writeOld(t, stray)
	if _, err := s.Sweep(ctx, sweepOpts); err != nil {
		t.Fatal(err)
	}
	if !exists(t, stray) {
		t.Fatalf("sweep removed %s, a record-named file in a shard its name does not select", stray)
	}
}

// A directory symlink planted in place of a shard must not lead the sweep
// (which may run as root, from sessgc) out of the store to remove files
// elsewhere.
func TestSweepDoesNotFollowShardSymlink(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(testIdle))
	outside := t.TempDir()
	victims := []string{
		filepath.Join(outside, ".tmp-important"),
		filepath.Join(outside, strings.Repeat("ab", 16)),
	}
	for _, p := range victims {
		writeOld(t, p)
	}
	if err := os.MkdirAll(filepath.Join(dir, fsstore.DataDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, fsstore.DataDir, "ab")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, TempAge: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	for _, p := range victims {
		if !exists(t, p) {
			t.Errorf("sweep followed a shard symlink out of the store and removed %s", p)
		}
	}
}

// Temp files are left wherever a killed process was writing: by a save in a
// shard, but also by Open (the writability probe in the data directory, the
// marker in the store directory) and by Sweep's own clock probe. A sweep
// with a tiny TempAge must remove them all, or they accumulate forever.
func TestSweepRemovesStrayTemps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	shard := filepath.Dir(s.RecordPathForTest(id))
	strays := []string{
		filepath.Join(shard, ".tmp-"+filepath.Base(s.RecordPathForTest(id))+"-0123456789abcdef"),
		filepath.Join(dir, fsstore.DataDir, ".tmp-.tmp-probe-0123456789abcdef-0123456789abcdef"),
		filepath.Join(dir, fsstore.DataDir, ".tmp-probe-0123456789abcdef-0123456789abcdef"),
		filepath.Join(dir, ".tmp-marker-0123456789abcdef"),
		filepath.Join(dir, ".tmp-clock-0123456789abcdef"),
	}
	for _, p := range strays {
		writeOld(t, p)
	}
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	for _, p := range strays {
		if exists(t, p) {
			t.Errorf("abandoned temp file %s survived the sweep", p)
		}
	}
	mustLoad(t, s, id, "x")
}

// Sweeps running all the time while processes and goroutines increment
// counters under locks must not lose an update. One lock stripe makes every
// sweep removal contend with every locker, and expired decoy sessions
// recreated all along keep the sweep taking (or skipping) that stripe.
func TestSweepConcurrentWithLockers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithLockStripes(1))
	ids := []string{newID(t), newID(t), newID(t)}
	const procs, goroutines, iter = 2, 4, 3
	env := []string{"STORE_DIR=" + dir, "STORE_IDS=" + strings.Join(ids, ","), "STORE_MODE=lock",
		"STORE_GOROUTINES=" + strconv.Itoa(goroutines), "STORE_ITER=" + strconv.Itoa(iter)}
	var kids []*child
	for i := 0; i < procs; i++ {
		kids = append(kids, startChild(t, "incr", env))
	}
	stop := make(chan struct{})
	var (
		wg    sync.WaitGroup
		total fsstore.SweepStats
		errs  = make(chan error, 4)
	)
	wg.Add(3)
	go func() { // sweeper
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
			if err != nil {
				errs <- err
				return
			}
			total.Sessions += st.Sessions
			total.SkippedLocked += st.SkippedLocked
			total.Errors += st.Errors
		}
	}()
	go func() { // decoys: expired sessions on the same (only) stripe
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			id, _ := fsstore.NewID()
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("decoy")}); err != nil {
				errs <- err
				return
			}
			if err := os.Chtimes(s.RecordPathForTest(id), longAgo, longAgo); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // in-process lockers share the sweeping Store's lock table
		defer wg.Done()
		errs <- runIncrementers(ctx, s, ids, "lock", goroutines, iter)
	}()
	for _, k := range kids {
		k.Finish(t)
	}
	// The in-process lockers finish on their own; then stop the loops.
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := (procs + 1) * goroutines * iter
	for _, id := range ids {
		sess, err := s.Load(ctx, id)
		if err != nil {
			t.Fatalf("session %s: %v", id[:6], err)
		}
		if n, err := counterOf(sess); err != nil || n != want {
			t.Errorf("session %s: counter %d (%v), want %d", id[:6], n, err, want)
		}
	}
	t.Logf("sweeps removed %d decoys, skipped %d locked, %d errors", total.Sessions, total.SkippedLocked, total.Errors)
	if total.Errors != 0 {
		t.Errorf("sweeps reported %d errors", total.Errors)
	}
}

// A file with a record's name in the shard that name selects is judged by
// its size alone, on every filesystem (the sweep reads no record, see
// docs/design.md): one shorter than a record's header is not the store's
// and is kept; an empty one is what a power loss leaves of a record, and
// goes with it; a longer one is taken for a record.
func TestSweepKeepsForeignFilesNamedLikeRecords(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		content []byte
		removed bool
	}{
		{"short text", []byte("not ours"), false},
		{"62 bytes of text", []byte(strings.Repeat("x", 61) + "\n"), false},
		{"64 bytes of text: taken for a record", []byte(strings.Repeat("x", 63) + "\n"), true},
		{"63 bytes", make([]byte, 63), false},
		{"empty: a power loss", nil, true},
		{"zeros: a power loss", make([]byte, 200), true},
		{"a record", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t, fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			p := s.RecordPathForTest(id)
			if tc.name == "a record" {
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			age(t, p)
			var removed []string
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, OnRemove: func(r fsstore.Removal) { removed = append(removed, r.Path) }})
			if err != nil || st.Errors != 0 {
				t.Fatalf("sweep: %+v, %v", st, err)
			}
			if got := !exists(t, p); got != tc.removed {
				t.Fatalf("removed %v, want %v (sweep %+v)", got, tc.removed, st)
			}
			if want := map[bool]int64{true: 0, false: 1}[tc.removed]; st.Foreign != want || int64(len(removed)) != 1-want {
				t.Errorf("sweep %+v, removed %v: want Foreign %d", st, removed, want)
			}
		})
	}
}

// TestSweepHugeGraceKeepsEverything sweeps and counts with a Grace so large
// that adding it to the idle timeout overflows a time.Duration. A huge
// Grace means "keep everything": the sum must not wrap negative and make
// every record look expired.
func TestSweepHugeGraceKeepsEverything(t *testing.T) {
	for _, grace := range []time.Duration{math.MaxInt64, math.MaxInt64 - time.Hour, 1 << 62} {
		t.Run(grace.String(), func(t *testing.T) {
			ctx := context.Background()
			s, err := fsstore.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("live")}); err != nil {
				t.Fatal(err)
			}
			if st, err := s.Stats(ctx, fsstore.StatsOptions{Grace: grace}); err != nil || st.Live != 1 || st.Expired != 0 {
				t.Errorf("Stats: %+v, %v; want the one record live", st, err)
			}
			if st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: grace}); err != nil || st.Sessions != 0 {
				t.Errorf("Sweep: %+v, %v; want nothing removed", st, err)
			}
			if _, err := s.Load(ctx, id); err != nil {
				t.Errorf("live session after the sweep: %v", err)
			}
		})
	}
}

// TestDryRunReportsWhatASweepRemoves runs a dry run and then a sweep over
// every kind of file a sweep removes or keeps, among them the records a
// sweep that died left at its aside name, expired and live: the dry run
// must report exactly the removals the sweep then makes.
func TestDryRunReportsWhatASweepRemoves(t *testing.T) {
	ctx := context.Background()
	s, err := fsstore.Open(t.TempDir(), fsstore.WithIdleTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().Add(-48 * time.Hour)
	record := func(aside, expired bool) string {
		id := newID(t)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		p := s.RecordPathForTest(id)
		if aside {
			if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
				t.Fatal(err)
			}
			p = filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
		}
		if expired {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	record(false, true) // expired
	record(false, false)
	record(true, true) // left aside by a dead sweep, expired
	record(true, false)
	temp := filepath.Join(filepath.Dir(s.RecordPathForTest(record(false, false))), ".tmp-abandoned")
	if err := os.WriteFile(temp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(temp, old, old); err != nil {
		t.Fatal(err)
	}

	collect := func(dry bool) (fsstore.SweepStats, []string) {
		var got []string
		var mu sync.Mutex
		st, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: dry, OnRemove: func(r fsstore.Removal) {
			mu.Lock()
			got = append(got, fmt.Sprintf("%v %s", r.Kind, r.Path))
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		return st, got
	}
	dryStats, dry := collect(true)
	realStats, real := collect(false)
	if strings.Join(dry, "\n") != strings.Join(real, "\n") || dryStats.Sessions != realStats.Sessions || dryStats.Temps != realStats.Temps {
		t.Errorf("dry run reported %d sessions, %d temps:\n%s\nthe sweep removed %d sessions, %d temps:\n%s",
			dryStats.Sessions, dryStats.Temps, strings.Join(dry, "\n"), realStats.Sessions, realStats.Temps, strings.Join(real, "\n"))
	}
	if realStats.Sessions != 2 || realStats.Temps != 1 {
		t.Errorf("the sweep removed %d sessions and %d temps, want 2 and 1: %v", realStats.Sessions, realStats.Temps, real)
	}
}

// TestSweepTinyRate sweeps with a rate so small that one removal's
// interval overflows a time.Duration: it must cap the sweep at its first
// removal until the caller gives up, not wrap to no cap at all. A rate that
// is not a number is refused.
func TestSweepTinyRate(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T) *fsstore.Store {
		s, err := fsstore.Open(t.TempDir(), fsstore.WithIdleTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		old := time.Now().Add(-48 * time.Hour)
		for range 3 {
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(s.RecordPathForTest(id), old, old); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	t.Run("NaN", func(t *testing.T) {
		if st, err := open(t).Sweep(ctx, fsstore.SweepOptions{Rate: math.NaN()}); err == nil {
			t.Errorf("Sweep accepted a rate that is not a number and removed %d sessions", st.Sessions)
		}
	})
	t.Run("1e-20", func(t *testing.T) {
		// The test ends the wait for the second removal, which a working
		// cap makes last centuries, once it sees the sweep (one worker)
		// in it. A deadline did before, and one that passed before the
		// first removal left a sweep without a cap nothing to remove.
		s := open(t)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		waits := testenv.ParkedAnew("github.com/sessfs/sessfs/fsstore.(*limiter).reserve")
		type result struct {
			st  fsstore.SweepStats
			err error
		}
		done := make(chan result, 1)
		go func() {
			st, err := s.Sweep(sctx, fsstore.SweepOptions{Rate: 1e-20})
			done <- result{st, err}
		}()
		r := sweepUntilItWaits(t, done, waits, cancel, "its second removal's")
		if r.st.Sessions != 1 {
			t.Errorf("a sweep capped at 1e-20 removals a second removed %d sessions (%v), want 1 before its wait for the next", r.st.Sessions, r.err)
		}
	})
}

// TestSweepRateCountsAside: records an earlier sweep left aside (.tmp-gc-*)
// and never settled wait their turn under Rate as the other removals do,
// whether they are removed (expired) or put back (live). At 1e-20 a
// second the first goes at once and the second waits for good; the test
// ends that wait once it sees the sweep (one worker) in it, so the sweep
// settles one, not all. Ended from the first settlement's callback, on
// another goroutine, it raced the sweep's next look at its context.
func TestSweepRateCountsAside(t *testing.T) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "expired", true: "live"}[live], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Depth 0: every record in one directory, listed in one go.
			s, err := fsstore.Open(t.TempDir(), fsstore.WithIdleTimeout(time.Minute), fsstore.WithShardDepth(0))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			old := time.Now().Add(-48 * time.Hour)
			for range 4 {
				id := newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				p := s.RecordPathForTest(id)
				if !live {
					if err := os.Chtimes(p, old, old); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
					t.Fatal(err)
				}
			}
			waits := testenv.ParkedAnew("github.com/sessfs/sessfs/fsstore.(*limiter).reserve")
			done := make(chan fsstore.SweepStats, 1)
			go func() {
				st, _ := s.Sweep(ctx, fsstore.SweepOptions{Rate: 1e-20})
				done <- st
			}()
			st := sweepUntilItWaits(t, done, waits, cancel, "its second settlement's")
			if n := st.Sessions + st.Restored; n != 1 {
				t.Errorf("a sweep capped at 1e-20 a second settled %d records left aside (%+v); want 1", n, st)
			}
		})
	}
}

// sweepUntilItWaits returns what a sweep capped to wait for turn (what
// names it) sends on done, once waits sees the sweep waiting for it and
// cancel has ended the wait, or once the sweep ended without waiting (a
// sweep without the cap, whose result the caller counts).
func sweepUntilItWaits[T any](t *testing.T, done <-chan T, waits func() bool, cancel func(), turn string) T {
	t.Helper()
	for giveUp := time.Now().Add(time.Minute); !waits(); {
		select {
		case r := <-done:
			cancel()
			return r
		default:
		}
		if time.Now().After(giveUp) {
			t.Fatalf("the sweep neither ended nor waited for %s turn within a minute", turn)
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}
	cancel()
	return <-done
}
