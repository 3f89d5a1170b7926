//go:build unix

package fsstore_test

// Sweep, Stats, Range and Health at the edges: leftover and stray files,
// files in use by a rekey, cancellation, a Touch racing the sweep.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// A rekey rewrites a record through the fenced temp file
// .tmp-<name>.locked and, before its rename, sets that file's mtime back to
// the record's last activity (Rekey keeps it). A sweep listing the shard in
// that moment must not take the file for a crashed writer's leftover (by
// its mtime it is older than TempAge for any record idle that long): rekey
// runs alongside sweeps. Fenced temp files are dated by their ctime too.
func TestSweepRemovesRekeysTempInFlight(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	id, p := savedUnderKey(t, dir, k1)
	idle := time.Now().Add(-50 * time.Minute) // live: the idle timeout is 1 h
	if err := os.Chtimes(p, idle, idle); err != nil {
		t.Fatal(err)
	}
	app, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	temp := filepath.Join(filepath.Dir(p), ".tmp-"+filepath.Base(p)+".locked")
	var armed, swept atomic.Bool
	var sw fsstore.SweepStats
	var swErr error
	// The hook runs whenever the rekeying store uses its directory
	// descriptor: after the rewrite's temp file is written, its times set,
	// the rekey checks the record (statNow) before its rename.
	hook := func(site string) {
		if site != "root" || !armed.Load() {
			return
		}
		if _, err := os.Lstat(temp); err != nil {
			return
		}
		armed.Store(false)
		sw, swErr = app.Sweep(ctx, fsstore.SweepOptions{}) // the defaults sessgc uses
		swept.Store(true)
	}
	rk, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly(), fsstore.WithTestFSForTest(hook))
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	rk.SetRekeyReadHookForTest(func(string) { armed.Store(true) })
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
	if !swept.Load() {
		t.Fatal("the sweep did not run while the rekey's temp file existed")
	}
	if swErr != nil {
		t.Fatal(swErr)
	}
	t.Logf("sweep during the rekey: %+v", sw)
	if sw.Temps != 0 {
		t.Errorf("the sweep removed %d temp file(s) as abandoned: the rekey's temp file, in use", sw.Temps)
	}
	if err != nil || st.Errors != 0 || st.Rekeyed != 1 {
		t.Errorf("Rekey alongside a sweep = %+v, %v; want the record rekeyed, no error", st, err)
	}
	mustLoad(t, app, id, "old")
}

// The lock package's temporary dot files in locks/, left when a process
// dies at the wrong moment (a strategy record's .strategy-<token>.tmp, a
// lease probe's .probe-<token>.lease), are removed by the sweep once older
// than TempAge and counted by Stats as temp files; any other dot file
// there is foreign, as everywhere in the store. The store's own (.probe,
// .strategy, sessgc's fleet locks) are left alone.
func TestSweepLockDirDotLeftovers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)
	locks := filepath.Join(dir, fsstore.LockDir)
	old := time.Now().Add(-48 * time.Hour)
	leftovers := []string{
		filepath.Join(locks, ".strategy-0123456789abcdef0123456789abcdef.tmp"), // recordStrategy, crashed
		filepath.Join(locks, ".probe-0123456789abcdef0123456789abcdef.lease"),  // probeLease, crashed
	}
	for _, p := range leftovers {
		writeAgedContent(t, p, "flock\n", old)
	}
	foreign := filepath.Join(locks, ".DS_Store")
	writeAgedContent(t, foreign, "someone else's", old)

	// (TempAge tiny: a fix that dates these files by their ctime, which
	// a test cannot set back, must remove them too.)
	st, err := s.Stats(ctx, fsstore.StatsOptions{TempAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v\nsweep %+v", st, sw)
	for _, p := range leftovers {
		if exists(t, p) {
			t.Errorf("%s: a crashed process's temp file in locks/, two days old, survived the sweep", filepath.Base(p))
		}
	}
	if got := sw.Temps + sw.Leases + sw.Foreign; got != int64(len(leftovers))+1 {
		t.Errorf("sweep reported %d of the %d dot files it met in locks/ (removed or foreign)", got, len(leftovers)+1)
	}
	if got := st.StaleTemps + st.StaleLeases + st.Foreign; got != int64(len(leftovers))+1 {
		t.Errorf("Stats reported %d of the %d dot files in locks/ (stale or foreign)", got, len(leftovers)+1)
	}
	if !exists(t, foreign) {
		t.Errorf("foreign file %s removed", foreign)
	}
}

// Stats predicts the sweep ("what it calls expired and stale is what a
// default sweep removes") also for files the sweep judges by place and
// size:
//   - a stale temp file at the top of the store (a crashed Open's or
//     Sweep's) is a stale temp file to both;
//   - a record-named file in a shard its name does not select is foreign
//     to both;
//   - an expired record-named file shorter than a record's header is
//     foreign to both.
func TestStatsPredictsSweepOnStrayFiles(t *testing.T) {
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir string, s *fsstore.Store)
	}{
		{"stale temp at the top", func(t *testing.T, dir string, s *fsstore.Store) {
			writeAged(t, filepath.Join(dir, ".tmp-marker-0123456789abcdef"), 10, old)
		}},
		{"record name in the wrong shard", func(t *testing.T, dir string, s *fsstore.Store) {
			p := filepath.Join(dir, fsstore.DataDir, "00", strings.Repeat("ff", 16))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			writeAged(t, p, 200, old)
		}},
		// A record held aside, outside the shard its name selects: not
		// a temp file to the sweep, so not a stale one to Stats.
		{"record aside at the top", func(t *testing.T, dir string, s *fsstore.Store) {
			writeAged(t, filepath.Join(dir, ".tmp-gc-"+strings.Repeat("ff", 16)), 200, old)
		}},
		{"record aside in the wrong shard", func(t *testing.T, dir string, s *fsstore.Store) {
			p := filepath.Join(dir, fsstore.DataDir, "00", ".tmp-gc-"+strings.Repeat("ff", 16))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			writeAged(t, p, 200, old)
		}},
		// In its own shard, an expired record aside (a sweep died
		// midway) is a session the next sweep removes.
		{"expired record aside in its shard", func(t *testing.T, dir string, s *fsstore.Store) {
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			p := s.RecordPathForTest(id)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(aside, old, old); err != nil {
				t.Fatal(err)
			}
		}},
		// By its header, not its mtime: its own idle timeout (1 s) ran
		// out, where the marker's (a minute, plus the grace) has not.
		{"record aside past its own idle timeout", func(t *testing.T, dir string, s *fsstore.Store) {
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x"), Idle: time.Second}); err != nil {
				t.Fatal(err)
			}
			p := s.RecordPathForTest(id)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			then := time.Now().Add(-90 * time.Second)
			if err := os.Chtimes(aside, then, then); err != nil {
				t.Fatal(err)
			}
		}},
		{"short file at a record's name", func(t *testing.T, dir string, s *fsstore.Store) {
			p := s.RecordPathForTest(newID(t))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			writeAgedContent(t, p, "not a record", old)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithIdleTimeout(time.Minute))
			tc.plant(t, dir, s)
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sw.Sessions != st.Expired || sw.Temps != st.StaleTemps || sw.Foreign != st.Foreign || sw.Live != st.Live {
				t.Errorf("Stats does not predict the sweep:\n stats: expired %d, stale temps %d, foreign %d, live %d\n sweep: sessions %d, temps %d, foreign %d, live %d",
					st.Expired, st.StaleTemps, st.Foreign, st.Live, sw.Sessions, sw.Temps, sw.Foreign, sw.Live)
			}
		})
	}
}

// Stats predicts what the next sweep, dry run or not, does with a record a
// sweep that died midway left aside in its shard, also where a newer Save
// took its name meanwhile:
//   - live and its name free: a live session, counted in Live and, as the
//     sweep puts it back (Restored, not in its Live), in Restorable;
//   - live and its name taken: the put-back fails with EEXIST and the older
//     copy aside is removed as a stale temp file, so it is no second live
//     session (it used to be counted in Live and LiveBytes beside the
//     record at the name);
//   - expired and its name taken: removed, an expired session to both.
func TestStatsPredictsSweepOnRecordsAside(t *testing.T) {
	ctx := context.Background()
	const oldData, newData = "held aside", "saved again after the sweep died"
	for _, tc := range []struct {
		name      string
		expired   bool // the copy aside is past its expiry
		newer     bool // a Save took the name while the record was aside
		wantLive  int64
		wantRest  int64 // Restorable
		wantExp   int64
		wantAfter string // what Load finds after the sweep
	}{
		{"live, name free", false, false, 1, 1, 0, oldData},
		{"live, name taken", false, true, 1, 0, 0, newData},
		{"expired, name taken", true, true, 1, 0, 1, newData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(oldData)}); err != nil {
				t.Fatal(err)
			}
			p := s.RecordPathForTest(id)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			if tc.expired {
				old := time.Now().Add(-48 * time.Hour)
				if err := os.Chtimes(aside, old, old); err != nil {
					t.Fatal(err)
				}
			}
			var wantLiveBytes int64
			if tc.newer {
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(newData)}); err != nil {
					t.Fatal(err)
				}
				wantLiveBytes = fileSize(t, p)
			} else if !tc.expired {
				wantLiveBytes = fileSize(t, aside)
			}

			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Live != tc.wantLive || st.Restorable != tc.wantRest || st.Expired != tc.wantExp || st.LiveBytes != wantLiveBytes || st.Errors != 0 {
				t.Errorf("Stats: live %d (%d bytes), restorable %d, expired %d, errors %d; want live %d (%d bytes), restorable %d, expired %d",
					st.Live, st.LiveBytes, st.Restorable, st.Expired, st.Errors, tc.wantLive, wantLiveBytes, tc.wantRest, tc.wantExp)
			}
			type counts struct{ Live, Restored, Sessions, Temps, Foreign, Errors int64 }
			want := counts{st.Live - st.Restorable, st.Restorable, st.Expired, st.StaleTemps, st.Foreign, st.Errors}
			for _, dry := range []bool{true, false} {
				sw, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: dry})
				if err != nil {
					t.Fatal(err)
				}
				if got := (counts{sw.Live, sw.Restored, sw.Sessions, sw.Temps, sw.Foreign, sw.Errors}); got != want {
					t.Errorf("sweep (dry run %v) counted %+v; Stats predicted %+v", dry, got, want)
				}
			}
			if exists(t, aside) {
				t.Errorf("the record aside survived the sweep")
			}
			mustLoad(t, s, id, tc.wantAfter)
		})
	}
}

// An encrypted store writes .keycheck-<id> at its top, one per key ID ever
// used, and keeps it: the sweep and Stats must not count the store's own
// files as foreign (sessgc_foreign_files: "files the store did not write").
func TestKeyCheckFilesAreNotForeign(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithKeys(mustKey(t, 2), mustKey(t, 1)))
	if err := s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Foreign != 0 || sw.Foreign != 0 {
		t.Errorf("a store holding only its own files (top: %v) reports foreign files: Stats %d, Sweep %d", names, st.Foreign, sw.Foreign)
	}
}

// A sweep whose context ends stops between files, also without a Rate
// (whose limiter used to be the only per-file check): it used to go on
// removing up to 63 more files of the shard it was in.
func TestSweepStopsRemovingAtCancel(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithShardDepth(0))
	data := filepath.Join(dir, fsstore.DataDir)
	old := time.Now().Add(-48 * time.Hour)
	for i := 0; i < 60; i++ {
		writeAged(t, filepath.Join(data, fmt.Sprintf(".tmp-crashed-%03d", i)), 10, old)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var after atomic.Int64
	var canceled atomic.Bool
	st, err := s.Sweep(ctx, fsstore.SweepOptions{OnRemove: func(fsstore.Removal) {
		if canceled.Load() {
			after.Add(1)
		}
		canceled.Store(true)
		cancel()
	}})
	t.Logf("sweep %+v, %v", st, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("sweep = %v, want context.Canceled", err)
	}
	if n := after.Load(); n != 0 {
		t.Errorf("the sweep removed %d more files after its context was canceled", n)
	}
}

// Range stops calling fn once its context ended, not only between
// directory batches of 512 entries (on NFS three round trips per record
// for a caller that has gone).
func TestRangeStopsCallingAtCancel(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Hour))
	for i := 0; i < 40; i++ {
		if err := s.Save(context.Background(), &fsstore.Session{ID: newID(t), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	st, err := s.Range(ctx, func(*fsstore.Record) bool {
		calls++
		cancel() // the caller goes away (a request context, a deadline)
		return true
	})
	t.Logf("range %+v, %v", st, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Range = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("Range called fn %d times, %d of them after its context was canceled", calls, calls-1)
	}
}

// A record a sweep left aside (its put-back failed, or the sweeping
// process died between the move and the settle) is still the session, as
// Load finds it until the next sweep puts it back: Range hands it over too
// (scsstore's All, an export).
func TestRangeSeesRecordLeftAside(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("left aside")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s, id, "left aside") // Load sees it
	found := false
	st, err := s.Range(ctx, func(r *fsstore.Record) bool {
		found = found || r.IsFor(id)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Errorf("Range (%+v) missed a live session that Load serves (held aside by a dead sweep)", st)
	}
}

// The store works without data/ (shard directories, and data/ with them,
// are created by the next save; a Load finds no session): an operator who
// empties the store by removing data/ must not see Health report it
// unavailable, which would take every host out of rotation and keep an
// open circuit breaker open.
func TestHealthWithoutDataDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)
	if err := os.RemoveAll(filepath.Join(dir, fsstore.DataDir)); err != nil {
		t.Fatal(err)
	}
	herr := s.Health(ctx)
	id := newID(t)
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load = %v, want ErrNotFound", err)
	}
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	mustLoad(t, s, id, "x")
	if herr != nil {
		t.Errorf("Health = %v for a store that serves Load and Save", herr)
	}
}

// A record file in a shard its name does not select is not a session: the
// store never writes one there, Load never finds it, and the sweep keeps
// it as foreign (TestSweepRecordNameInWrongShard). Range must not hand it
// over as live either.
func TestRangeSkipsRecordInWrongShard(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("misplaced")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	wrong := "00"
	if filepath.Base(filepath.Dir(p)) == wrong {
		wrong = "01"
	}
	q := filepath.Join(filepath.Dir(filepath.Dir(p)), wrong, filepath.Base(p))
	if err := os.MkdirAll(filepath.Dir(q), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, q); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load of the misplaced record = %v, want ErrNotFound", err)
	}
	st, err := s.Range(ctx, func(r *fsstore.Record) bool {
		if r.IsFor(id) {
			t.Errorf("Range passed a record Load cannot find (%s, in shard %s) as a live session", filepath.Base(q), wrong)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("range %+v", st)
}

// A copy aside that a newer record superseded (its put-back finds the name
// taken) is a file the sweep removes, and reports as every removal: to
// OnRemove, by its own path, as a temp file, in Temps and in Bytes, in
// the dry run as in the sweep, as Stats predicts it (StaleTemps,
// TempBytes). The sweep unlinked it silently: -v and --json listed no
// such removal, bytes_freed left its bytes out, and Removed() differed
// from the number of OnRemove calls. Both ways a copy is superseded: left
// aside by a sweep that died, and moved aside by this sweep, then touched
// there (so it is no longer the file judged) while a Save took its name.
func TestSweepReportsSupersededCopyAside(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// setup returns the store, the copy aside's path and its size.
		setup func(t *testing.T) (*fsstore.Store, string, int64)
		dry   bool // also sweep with DryRun first, and check Stats
	}{
		{"left aside by a dead sweep", func(t *testing.T) (*fsstore.Store, string, int64) {
			s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("held aside")}); err != nil {
				t.Fatal(err)
			}
			p := s.RecordPathForTest(id)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("saved again after the sweep died")}); err != nil {
				t.Fatal(err)
			}
			return s, aside, fileSize(t, aside)
		}, true},
		{"moved aside by this sweep, touched there, name taken", func(t *testing.T) (*fsstore.Store, string, int64) {
			dir, s, id, p := agedRecord(t)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			size := fileSize(t, p)
			saver := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
			s.SetSweepHooksForTest(nil, nil, func(string) {
				now := time.Now() // a Touch that found the record aside
				if err := os.Chtimes(aside, now, now); err != nil {
					t.Error(err)
				}
				if err := saver.Save(ctx, &fsstore.Session{ID: id, Data: []byte("saved meanwhile")}); err != nil {
					t.Error(err)
				}
			})
			t.Cleanup(func() { s.SetSweepHooksForTest(nil, nil, nil) })
			return s, aside, size
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, aside, size := tc.setup(t)
			runs := []bool{false}
			if tc.dry {
				st, err := s.Stats(ctx, fsstore.StatsOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if st.StaleTemps != 1 || st.TempBytes != size || st.Live != 1 || st.Restorable != 0 {
					t.Errorf("Stats: stale temps %d (%d bytes), live %d, restorable %d; want the copy aside a stale temp of %d bytes beside one live session",
						st.StaleTemps, st.TempBytes, st.Live, st.Restorable, size)
				}
				runs = []bool{true, false}
			}
			for _, dry := range runs {
				var got []fsstore.Removal
				st, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: dry, Grace: time.Nanosecond, OnRemove: func(r fsstore.Removal) { got = append(got, r) }})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Path != aside || got[0].Kind != fsstore.KindTemp || got[0].Size != size {
					t.Errorf("dry run %v: OnRemove got %+v; want one temp removal of %s, %d bytes", dry, got, aside, size)
				}
				if st.Temps != 1 || st.Bytes != size || st.Removed() != int64(len(got)) || st.Sessions != 0 || st.Restored != 0 || st.Errors != 0 {
					t.Errorf("dry run %v: sweep %+v; want one temp of %d bytes removed, no session", dry, st, size)
				}
			}
			if exists(t, aside) {
				t.Errorf("the copy aside survived the sweep")
			}
		})
	}
}
