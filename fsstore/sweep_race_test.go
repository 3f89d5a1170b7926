//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// asides lists the files a sweep left aside in dir.
func asides(t *testing.T, dir string) []string {
	t.Helper()
	var all []string
	for _, pat := range []string{"data/.tmp-gc-*", "data/*/.tmp-gc-*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m...)
	}
	return all
}

// An unlocked Save lands between the sweep's judgement of an expired record
// and its move aside, so the sweep moves the fresh record. Putting it back
// fails (injected link errors): the fresh record must survive, readable by
// Load all along, and a later sweep must put it back. Nothing may be
// counted as removed.
func TestSweepPutBackLinkFailure(t *testing.T) {
	ctx := context.Background()
	for _, linkErr := range []error{syscall.EIO, syscall.ENOSPC, syscall.EPERM, syscall.EMLINK} {
		t.Run(linkErr.Error(), func(t *testing.T) {
			s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			p := s.RecordPathForTest(id)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
				t.Fatal(err)
			}
			age(t, p)
			var links atomic.Int32
			s.SetSweepHooksForTest(
				func(oldpath, newpath string) error {
					links.Add(1)
					return linkErr
				},
				func(string) {
					// The request's Save, unlocked, after the judgement.
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
						t.Error(err)
					}
				}, nil)
			var errs []error
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, OnError: func(err error) { errs = append(errs, err) }})
			if err != nil {
				t.Fatal(err)
			}
			if links.Load() != 1 {
				t.Fatalf("put-back called link %d times, want 1", links.Load())
			}
			if st.Sessions != 0 || st.Errors != 1 || len(errs) != 1 || !errors.Is(errs[0], linkErr) {
				t.Errorf("sweep stats %+v, errors %v; want nothing removed and the link error reported", st, errs)
			}
			mustLoad(t, s, id, "fresh")

			// A sweep without the fault puts it back.
			s.SetSweepHooksForTest(nil, nil, nil)
			if st, err = s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond}); err != nil || st.Sessions != 0 || st.Errors != 0 {
				t.Fatalf("second sweep: %+v, %v", st, err)
			}
			if !exists(t, p) || len(asides(t, s.Dir())) != 0 {
				t.Fatalf("after the second sweep: record present %v, left aside %v", exists(t, p), asides(t, s.Dir()))
			}
			mustLoad(t, s, id, "fresh")
		})
	}
}

// A sweep that left a record aside and died is finished by the next one:
// a live record goes back, an expired one goes, and a record saved under
// the name meanwhile wins over the one aside.
func TestSweepSettlesLeftAside(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		expired bool // the record aside is expired
		newer   bool // a Save recreated the name meanwhile
		want    string
		removed int64
	}{
		{"live", false, false, "aside", 0},
		{"expired", true, false, "", 1},
		{"live, newer saved", false, true, "newer", 0},
		{"expired, newer saved", true, true, "newer", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			p := s.RecordPathForTest(id)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("aside")}); err != nil {
				t.Fatal(err)
			}
			if tc.expired {
				age(t, p)
			}
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			if !tc.expired {
				// Loads see the record while it is aside.
				mustLoad(t, s, id, "aside")
			}
			if tc.newer {
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("newer")}); err != nil {
					t.Fatal(err)
				}
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
			if err != nil || st.Errors != 0 || st.Sessions != tc.removed {
				t.Fatalf("sweep: %+v, %v; want %d removed", st, err, tc.removed)
			}
			if exists(t, aside) {
				t.Fatal("the sweep left the record aside")
			}
			if tc.want == "" {
				if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
					t.Fatalf("Load: %v, want ErrNotFound", err)
				}
				return
			}
			mustLoad(t, s, id, tc.want)
		})
	}
}

// The same, step by step across processes: the sweeping process judges an
// expired record, a Save replaces it, the sweep moves the fresh record
// aside, and a Load then must see the fresh record; after the sweep
// settles, it is back under its name.
func TestLoadAfterSaveWhileMovedAside(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	age(t, s.RecordPathForTest(id))
	sw := startChild(t, "sweep-step", []string{"STORE_DIR=" + dir})
	sw.Expect(t, "judged")
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
		t.Fatal(err)
	}
	sw.Send(t, "go")
	sw.Expect(t, "moved")
	sess, err := s.Load(ctx, id)
	if err != nil || string(sess.Data) != "fresh" {
		t.Errorf("Load after the Save returned, while the sweep holds the record aside: %v, want the saved value", err)
	}
	sw.Send(t, "go")
	if got := sw.Expect(t, "swept"); got != "swept sessions=0 renewed=1 errors=0" {
		t.Errorf("sweeper: %s, want the record put back", got)
	}
	sw.Finish(t)
	mustLoad(t, s, id, "fresh")
}

// loadAfterSaveTrials runs goroutines that each, over and over, plant an
// expired record for a fresh ID, save a fresh value over it (unlocked) and
// Load it at once, while sweeps run elsewhere. A Load that starts after a
// Save returned must see that save (nothing else writes the ID). It
// returns the number of trials and a description of every violation.
func loadAfterSaveTrials(ctx context.Context, s *fsstore.Store, goroutines int, d time.Duration, plant func(id string) error) (int64, []string) {
	var (
		trials atomic.Int64
		mu     sync.Mutex
		bad    []string
		wg     sync.WaitGroup
	)
	end := time.Now().Add(d)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && ctx.Err() == nil {
				id, err := fsstore.NewID()
				if err == nil {
					err = plant(id)
				}
				if err == nil {
					err = s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")})
				}
				if err != nil {
					mu.Lock()
					bad = append(bad, "setup: "+err.Error())
					mu.Unlock()
					return
				}
				sess, err := s.Load(ctx, id)
				if err != nil || string(sess.Data) != "fresh" {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("Load right after Save: %v", err))
					mu.Unlock()
				}
				trials.Add(1)
				s.Delete(ctx, id)
			}
		}()
	}
	wg.Wait()
	return trials.Load(), bad
}

// The invariant a Load that starts after a Save returned sees that save
// (or a later one) holds while another process sweeps the same directory
// without pause and keeps catching records between the judgement and the
// move aside.
func TestLoadAfterSaveDuringSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Hour))
	sweeper := startChild(t, "sweep-loop", []string{"STORE_DIR=" + dir})
	sweeper.Expect(t, "sweeping")
	d := time.Duration(proctest.EnvInt("SESSFS_RACE_SECONDS", 5)) * time.Second
	trials, bad := loadAfterSaveTrials(ctx, s, 8, d, func(id string) error {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
			return err
		}
		p := s.RecordPathForTest(id)
		return os.Chtimes(p, longAgo, longAgo)
	})
	sweeper.Finish(t)
	t.Logf("%d save+load trials against a sweeping process", trials)
	if len(bad) > 0 {
		t.Fatalf("%d of %d Loads right after a Save did not see it; first: %s", len(bad), trials, strings.Join(bad[:min(len(bad), 3)], "; "))
	}
	if left := asides(t, dir); len(left) != 0 {
		t.Errorf("records left aside: %v", left)
	}
}

// Sweep and Stats count the same files as foreign, wherever they are: at
// the top of the store, beside the shards in data/, in a shard, and in
// locks/.
func TestSweepAndStatsCountForeignAlike(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	shard := filepath.Dir(s.RecordPathForTest(id))
	foreign := []string{
		filepath.Join(dir, "README"),
		filepath.Join(dir, "ab", "0123456789abcdef0123456789abcdef"), // counted once: the directory ab
		filepath.Join(dir, fsstore.DataDir, "notes.txt"),
		filepath.Join(shard, "sess_0123456789abcdef"),
		filepath.Join(shard, "subdir", "file"), // counted once: the directory subdir
		filepath.Join(dir, fsstore.LockDir, "owner.txt"),
	}
	for _, p := range foreign {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not the store's"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Foreign != int64(len(foreign)) || sw.Foreign != int64(len(foreign)) {
		t.Errorf("foreign files: Stats %d, Sweep %d; want %d each", st.Foreign, sw.Foreign, len(foreign))
	}
	for _, p := range foreign {
		if !exists(t, p) {
			t.Errorf("%s removed", p)
		}
	}
}

// A record the scan judged expired but that a Save replaced or a Touch
// renewed before the sweep moved it aside is put back, never removed: the
// sweep removes only the file it judged, with the mtime it judged. The
// Touch comes from a host whose clock lags (so it still finds the session
// live) or is an mtime set by hand; the Save is unlocked.
func TestSweepKeepsRecordRenewedAfterScan(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		renew func(t *testing.T, dir, id, p string)
		want  string
	}{
		{"touched by a lagging host", func(t *testing.T, dir, id, p string) {
			lag := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(func() time.Time { return longAgo.Add(time.Minute) }))
			if err := lag.Touch(ctx, id); err != nil {
				t.Errorf("Touch: %v", err)
			}
		}, "old"},
		{"mtime set to now", func(t *testing.T, dir, id, p string) {
			now := time.Now()
			if err := os.Chtimes(p, now, now); err != nil {
				t.Error(err)
			}
		}, "old"},
		{"saved", func(t *testing.T, dir, id, p string) {
			s := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
				t.Error(err)
			}
		}, "fresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, s, id, p := agedRecord(t)
			s.SetSweepHooksForTest(nil, func(string) { tc.renew(t, dir, id, p) }, nil)
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
			s.SetSweepHooksForTest(nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Sessions != 0 || st.SkippedRenewed != 1 || st.Errors != 0 {
				t.Errorf("sweep %+v: want nothing removed, one record put back", st)
			}
			if !exists(t, p) || len(asides(t, dir)) != 0 {
				t.Fatalf("record present %v, left aside %v", exists(t, p), asides(t, dir))
			}
			b, err := os.ReadFile(p)
			if err != nil || !strings.HasSuffix(string(b), tc.want) {
				t.Errorf("record after the sweep: %q, %v; want the payload %q", b, err, tc.want)
			}
		})
	}
}

// A sweep whose context ends while it moves records aside settles the ones
// it moved before it returns: none is left aside for the next sweep.
func TestSweepCanceledSettlesWhatItMoved(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Hour))
	var ids []string
	for i := 0; i < 5; i++ {
		id := newID(t)
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
			t.Fatal(err)
		}
		age(t, s.RecordPathForTest(id))
		ids = append(ids, id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.SetSweepHooksForTest(nil, func(string) { cancel() }, nil)
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	s.SetSweepHooksForTest(nil, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sweep: %v, want context.Canceled", err)
	}
	if left := asides(t, dir); len(left) != 0 {
		t.Errorf("records left aside: %v", left)
	}
	kept := 0
	for _, id := range ids {
		if exists(t, s.RecordPathForTest(id)) {
			kept++
		}
	}
	if st.Sessions != 1 || kept != len(ids)-1 {
		t.Errorf("sweep %+v, %d records kept; want the one moved removed and the rest kept", st, kept)
	}
}

// A session ended while the sweep holds its record aside stays ended: the
// sweep's put-back (for a record touched or saved after the scan) must not
// bring back a session that a Delete, locked or not, removed meanwhile,
// whatever Saves came in between; and a Save while it is aside is never
// clobbered by the put-back. The interleavings are injected at the sweep's
// and Delete's own steps.
func TestSweepPutBackLosesToDelete(t *testing.T) {
	ctx := context.Background()
	touch := func(t *testing.T, s *fsstore.Store, id, p string) {
		now := time.Now()
		if err := os.Chtimes(p, now, now); err != nil {
			t.Error(err)
		}
	}
	save := func(data string) func(t *testing.T, s *fsstore.Store, id, p string) {
		return func(t *testing.T, s *fsstore.Store, id, p string) {
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
				t.Error(err)
			}
		}
	}
	del := func(t *testing.T, s *fsstore.Store, id, p string) {
		if err := s.Delete(ctx, id); err != nil {
			t.Error(err)
		}
	}
	lockedDel := func(t *testing.T, s *fsstore.Store, id, p string) {
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Error(err)
			return
		}
		defer l.Unlock()
		if err := l.Delete(ctx); err != nil {
			t.Error(err)
		}
	}
	type step func(t *testing.T, s *fsstore.Store, id, p string)
	for _, tc := range []struct {
		name string
		// afterScan runs between the sweep's judgement and its move aside,
		// whileAside between the move and the check, atLink between the
		// check and the put-back's link.
		afterScan, whileAside, atLink []step
		want                          string // "": the session is gone
	}{
		{"touched, deleted while aside", []step{touch}, []step{del}, nil, ""},
		{"touched, deleted under its lock while aside", []step{touch}, []step{lockedDel}, nil, ""},
		{"saved, deleted while aside", []step{save("fresh")}, []step{del}, nil, ""},
		{"touched, saved and deleted while aside", []step{touch}, []step{save("fresh"), del}, nil, ""},
		{"saved, saved and deleted while aside", []step{save("fresh")}, []step{save("fresher"), del}, nil, ""},
		{"touched, deleted before the put-back", []step{touch}, nil, []step{del}, ""},
		{"touched, saved and deleted before the put-back", []step{touch}, nil, []step{save("fresh"), del}, ""},
		{"touched, saved while aside", []step{touch}, []step{save("fresh")}, nil, "fresh"},
		{"touched, saved before the put-back", []step{touch}, nil, []step{save("fresh")}, "fresh"},
		{"saved, saved while aside", []step{save("fresh")}, []step{save("fresher")}, nil, "fresher"},
		{"touched, nothing while aside", []step{touch}, nil, nil, "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, id, p := agedRecord(t)
			run := func(steps []step) func(string) {
				return func(string) {
					for _, f := range steps {
						f(t, s, id, p)
					}
				}
			}
			link := func(oldpath, newpath string) error {
				run(tc.atLink)("")
				return os.Link(oldpath, newpath)
			}
			s.SetSweepHooksForTest(link, run(tc.afterScan), run(tc.whileAside))
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
			s.SetSweepHooksForTest(nil, nil, nil)
			if err != nil || st.Errors != 0 || st.Sessions != 0 {
				t.Fatalf("sweep: %+v, %v; want nothing removed by the sweep, no error", st, err)
			}
			checkEnded(t, s, id, tc.want)
		})
	}
}

// checkEnded checks that nothing is left aside and that id loads with
// want, or, with want "", is gone for good: not found now, nor after
// another sweep.
func checkEnded(t *testing.T, s *fsstore.Store, id, want string) {
	t.Helper()
	ctx := context.Background()
	if left := asides(t, s.Dir()); len(left) != 0 {
		t.Errorf("left aside: %v", left)
	}
	if want != "" {
		mustLoad(t, s, id, want)
		return
	}
	for i := 0; i < 2; i++ {
		if sess, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
			t.Fatalf("Load after the Delete returned (%v, %v), want ErrNotFound: a deleted session came back", sess, err)
		}
		if _, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond}); err != nil {
			t.Fatal(err)
		}
	}
}

// A Delete that overlaps the whole put-back (its first unlink before the
// sweep links the record back, its look aside after the sweep removed the
// aside name) still ends the session: the record moved back under its name
// behind the Delete's back.
func TestDeleteOverlappingPutBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	p := s.RecordPathForTest(id)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	age(t, p)
	paused, resume, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	s.SetDeleteHookForTest(func(step string) {
		if step == "name" {
			once.Do(func() { close(paused); <-resume })
		}
	})
	s.SetSweepHooksForTest(nil,
		func(string) {
			now := time.Now()
			if err := os.Chtimes(p, now, now); err != nil {
				t.Error(err)
			}
		},
		func(string) {
			// The Delete starts while the record is aside and waits after
			// its first unlink (which finds nothing) for the put-back.
			go func() { done <- s.Delete(ctx, id) }()
			select {
			case <-paused:
			case err := <-done: // a Delete with no steps to pause at
				done <- err
			}
		})
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	s.SetSweepHooksForTest(nil, nil, nil)
	if err != nil || st.Errors != 0 || st.SkippedRenewed != 1 {
		t.Fatalf("sweep: %+v, %v; want the record put back", st, err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.SetDeleteHookForTest(nil)
	checkEnded(t, s, id, "")
}

// A record left aside by a sweep that died (or whose put-back failed) is
// the session's: a Delete removes it there too, so that neither a Load nor
// the next sweep brings it back.
func TestDeleteRemovesRecordLeftAside(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	p := s.RecordPathForTest(id)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("aside")}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s, id, "aside")
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	checkEnded(t, s, id, "")
}

// agedRecord opens a store with an idle timeout of an hour in a new
// directory, saves "old" under a new ID and ages the record past it.
func agedRecord(t *testing.T) (dir string, s *fsstore.Store, id, path string) {
	t.Helper()
	dir = t.TempDir()
	s = openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
	id = newID(t)
	path = s.RecordPathForTest(id)
	if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	age(t, path)
	return dir, s, id, path
}

// A sweep settles a live record that an earlier sweep left aside (it died
// between the move and the settle, or could not put the record back) by
// keeping the session: that is no renewal, and is counted as Restored,
// while SkippedRenewed counts only records renewed after this sweep's own
// scan judged them. A record saved under the name since is counted live
// by the listing, and the older copy aside goes as a temp file. An expired one
// is removed, as any expired session.
func TestSweepCountsRestoredApartFromRenewed(t *testing.T) {
	ctx := context.Background()
	aside := func(t *testing.T, p string) string {
		t.Helper()
		a := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
		if err := os.Rename(p, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name string
		// setUp leaves the store as the case needs it; renew, when set,
		// runs after this sweep's scan judged the record expired.
		setUp                      func(t *testing.T, s *fsstore.Store, id, p string)
		renew                      bool
		want                       string // the payload at the record's name after the sweep; "": none
		sessions, renewed, restore int64
	}{
		{"left aside live", func(t *testing.T, s *fsstore.Store, id, p string) {
			now := time.Now()
			if err := os.Chtimes(aside(t, p), now, now); err != nil {
				t.Fatal(err)
			}
		}, false, "old", 0, 0, 1},
		{"left aside live, saved again since", func(t *testing.T, s *fsstore.Store, id, p string) {
			now := time.Now()
			if err := os.Chtimes(aside(t, p), now, now); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
				t.Fatal(err)
			}
		}, false, "fresh", 0, 0, 0}, // the newer record is counted live; the copy aside goes, a temp
		{"left aside expired", func(t *testing.T, s *fsstore.Store, id, p string) { aside(t, p) }, false, "", 1, 0, 0},
		{"renewed after the scan", func(*testing.T, *fsstore.Store, string, string) {}, true, "old", 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, s, id, p := agedRecord(t)
			tc.setUp(t, s, id, p)
			if tc.renew {
				s.SetSweepHooksForTest(nil, func(string) {
					now := time.Now()
					if err := os.Chtimes(p, now, now); err != nil {
						t.Error(err)
					}
				}, nil)
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
			s.SetSweepHooksForTest(nil, nil, nil)
			if err != nil || st.Errors != 0 {
				t.Fatalf("sweep: %+v, %v", st, err)
			}
			if st.Sessions != tc.sessions || st.SkippedRenewed != tc.renewed || st.Restored != tc.restore {
				t.Errorf("sweep removed %d sessions, counted %d renewed and %d restored; want %d, %d and %d (%+v)",
					st.Sessions, st.SkippedRenewed, st.Restored, tc.sessions, tc.renewed, tc.restore, st)
			}
			if left := asides(t, dir); len(left) != 0 {
				t.Errorf("left aside: %v", left)
			}
			b, err := os.ReadFile(p)
			switch {
			case tc.want == "" && !errors.Is(err, os.ErrNotExist):
				t.Errorf("record after the sweep: %q, %v; want it removed", b, err)
			case tc.want != "" && (err != nil || !strings.HasSuffix(string(b), tc.want)):
				t.Errorf("record after the sweep: %q, %v; want the payload %q", b, err, tc.want)
			}
		})
	}
}
