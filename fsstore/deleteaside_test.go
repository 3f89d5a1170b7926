//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestLostLockDeleteBesideSweep: a Locked.Delete whose lease is broken
// while another holder takes the lock over and saves, in the same instant
// as a sweep of an older, expired copy of the session. The sweep and the
// Delete each move a record aside, check it, and unlink what they checked
// by name: with one aside name between them, either unlinked what the
// other had just moved there, the record the next holder saved. Each case
// orders the three at the instant that lost it:
//
//   - "sweep checked": the sweep moved the expired copy aside and found it
//     as judged; the Delete then moved the next holder's record over it,
//     and the sweep's unlink took that record.
//   - "delete checked": the Delete's check passed, then its lease was
//     broken; the next holder saved, and a sweep (judging the name by an
//     older listing) moved that record aside, meaning to put it back; the
//     Delete's unlink of its copy aside took it.
//   - "saved again": the next holder saved again while the Delete held
//     its record aside; with one name, a Delete putting its copy back
//     found the name taken, and a sweep that moved the newer record aside
//     just then lost it to the Delete's unlink of the older copy. The
//     Delete now leaves its copy for the sweep, which finds it older.
//   - "sweep holds the next save": the Delete moved the record aside; the
//     next holder saved, and a sweep (judging the name by an older
//     listing) moved that record to its own aside name, meaning to put it
//     back. A Delete that put its older copy back itself, finding the
//     name empty, would have the sweep's put-back find the name taken and
//     remove the newer record as the older; it leaves the copy for the
//     sweep, which puts back the newer of the two.
//
// The next holder's record must survive every one, and nothing be left
// aside once the sweep has settled.
func TestLostLockDeleteBesideSweep(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inDoubt bool // the Delete reports ErrInDoubt: it removed the record it held
		want    string
	}{
		{"sweep checked", false, "B"},
		{"delete checked", true, "B"},
		{"saved again", false, "B2"},
		{"sweep holds the next save", false, "B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newLostLockDelete(t)
			a, b, sw, id, p, la := f.a, f.b, f.sw, f.id, f.p, f.la
			gcAside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			var (
				lb  *fsstore.Locked
				err error
			)
			defer func() {
				if lb != nil {
					lb.Unlock()
				}
			}()
			// takeOver breaks the Delete's lease, as a breaker replaces a
			// lease that lapsed, and has the next holder save data.
			takeOver := func(data string) {
				if !f.breakLease(t) {
					return
				}
				if lb, err = b.Lock(ctx, id, fsstore.Exclusive); err != nil {
					t.Error(err)
					return
				}
				if err := lockedSaveIn(ctx, lb, data); err != nil {
					t.Errorf("next holder's save: %v", err)
				}
			}
			var (
				checked, release = make(chan struct{}), make(chan struct{})
				swept            = make(chan error, 1)
			)
			if tc.name == "sweep checked" {
				age(t, p)
				sw.SetSweepRemoveHookForTest(func(path string) {
					if path == p {
						close(checked)
						<-release
					}
				})
				go func() {
					_, err := sw.Sweep(ctx, fsstore.SweepOptions{})
					swept <- err
				}()
				select {
				case <-checked:
				case err := <-swept:
					t.Fatalf("sweep ended (%v) without removing the expired record", err)
				}
			}
			a.SetDeleteHookForTest(func(step string) {
				switch {
				case tc.name == "sweep checked" && step == "temp":
					takeOver("B")
				case tc.name == "sweep checked" && step == "name":
					// The record moved aside, before the check: the
					// sweep unlinks the copy it checked.
					close(release)
					if err := <-swept; err != nil {
						t.Errorf("sweep: %v", err)
					}
				case tc.name == "delete checked" && step == "name check":
					takeOver("B")
					// The sweep's move of a record it judged by an
					// older listing.
					if err := os.Rename(p, gcAside); err != nil {
						t.Error(err)
					}
				case tc.name == "sweep holds the next save" && step == "name":
					takeOver("B")
					if err := os.Rename(p, gcAside); err != nil {
						t.Error(err)
					}
				case tc.name == "saved again" && step == "temp":
					takeOver("B")
				case tc.name == "saved again" && step == "name":
					if err := lockedSaveIn(ctx, lb, "B2"); err != nil {
						t.Errorf("next holder's second save: %v", err)
					}
				}
			})
			err = la.Delete(ctx)
			a.SetDeleteHookForTest(nil)
			if t.Failed() {
				return
			}
			if !errors.Is(err, fsstore.ErrLockLost) || errors.Is(err, fsstore.ErrInDoubt) != tc.inDoubt {
				t.Errorf("Delete under a lock lost meanwhile: %v; want ErrLockLost, and ErrInDoubt %v", err, tc.inDoubt)
			}
			if err := lb.Unlock(); err != nil {
				t.Errorf("next holder's Unlock: %v", err)
			}
			lb = nil
			// What a sweep moved aside, it puts back (here the next one,
			// which settles a record left there under its lock).
			if _, err := sw.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			got, err := b.Load(ctx, id)
			if err != nil || string(got.Data) != tc.want {
				t.Fatalf("next holder's record after the Delete under the lost lock and the sweep: %v, %v; want %q", nfsData(got), err, tc.want)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*")); len(left) != 0 {
				t.Errorf("left in the shard: %v", left)
			}
		})
	}
}

// lostLockDelete is the setup of the tests of a Locked.Delete whose lock
// is lost meanwhile: three stores on one directory under the lease
// strategy (a, whose holder deletes; b, the next holder; sw, a sweep's),
// the session id saved ("old") at p and locked through a (la, unlocked at
// the end of the test).
type lostLockDelete struct {
	dir      string
	a, b, sw *fsstore.Store
	id, p    string
	la       *fsstore.Locked
}

func newLostLockDelete(t *testing.T) *lostLockDelete {
	t.Helper()
	f := &lostLockDelete{dir: t.TempDir()}
	opts := []fsstore.Option{fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle)}
	f.a, f.b, f.sw = openDir(t, f.dir, opts...), openDir(t, f.dir, opts...), openDir(t, f.dir, opts...)
	f.id = newID(t)
	f.p = f.a.RecordPathForTest(f.id)
	mustSave(t, f.a, f.id, "old")
	la, err := f.a.Lock(context.Background(), f.id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	f.la = la
	t.Cleanup(func() { la.Unlock() })
	return f
}

// breakLease breaks a's lease, as a breaker replaces a lease that lapsed
// (a's holder stopped past it): the next Lock takes it. It reports
// whether it could.
func (f *lostLockDelete) breakLease(t *testing.T) bool {
	if err := os.Remove(filepath.Join(f.dir, "locks", f.a.StripeForTest(f.id)+".lease")); err != nil {
		t.Error(err)
		return false
	}
	return true
}

// TestDeleteAsideLeftover: a Locked.Delete killed with the record under
// its own aside name (.tmp-gd-<record>) leaves the session readable, as a
// sweep's copy aside is: Load and Touch find it there, a Delete removes
// it, and the sweep puts a live one back and removes an expired one,
// under the session's lock, by the rules of its own aside name.
func TestDeleteAsideLeftover(t *testing.T) {
	for _, tc := range []struct {
		name string
		aged bool
		act  func(t *testing.T, s *fsstore.Store, id string)
		want string // the session afterwards; "" none
	}{
		{"load", false, func(t *testing.T, s *fsstore.Store, id string) { mustLoad(t, s, id, "old") }, "old"},
		{"touch", false, func(t *testing.T, s *fsstore.Store, id string) {
			if err := s.Touch(context.Background(), id); err != nil {
				t.Errorf("Touch of a record left aside by a Delete: %v", err)
			}
		}, "old"},
		{"delete", false, func(t *testing.T, s *fsstore.Store, id string) {
			if err := s.Delete(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"locked delete", false, func(t *testing.T, s *fsstore.Store, id string) {
			ctx := context.Background()
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if err := l.Delete(ctx); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"create", false, func(t *testing.T, s *fsstore.Store, id string) {
			// The record there is the session, as Load finds it, until the
			// sweep puts it back: a create must not overwrite it (the
			// sweep then removing the copy aside as the older).
			err := s.CompareAndSwap(context.Background(), &fsstore.Session{ID: id, Data: []byte("new")})
			if !errors.Is(err, fsstore.ErrConflict) {
				t.Errorf("CompareAndSwap creating a session left aside by a Delete: %v; want ErrConflict", err)
			}
		}, "old"},
		{"sweep, live", false, func(t *testing.T, s *fsstore.Store, id string) {
			st, err := s.Sweep(context.Background(), fsstore.SweepOptions{})
			if err != nil || st.Restored != 1 || st.Errors != 0 {
				t.Errorf("sweep: %+v, %v; want the record put back", st, err)
			}
			if _, err := os.Lstat(s.RecordPathForTest(id)); err != nil {
				t.Errorf("record after the sweep: %v; want it back under its name", err)
			}
		}, "old"},
		{"sweep, expired", true, func(t *testing.T, s *fsstore.Store, id string) {
			st, err := s.Sweep(context.Background(), fsstore.SweepOptions{})
			if err != nil || st.Sessions != 1 || st.Errors != 0 {
				t.Errorf("sweep: %+v, %v; want the expired record removed", st, err)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			mustSave(t, s, id, "old")
			p := s.RecordPathForTest(id)
			left := filepath.Join(filepath.Dir(p), ".tmp-gd-"+filepath.Base(p))
			if err := os.Rename(p, left); err != nil {
				t.Fatal(err)
			}
			if tc.aged {
				age(t, left)
			}
			tc.act(t, s, id)
			if tc.want != "" {
				mustLoad(t, s, id, tc.want)
			} else if got, err := s.Load(context.Background(), id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load afterwards: %v, %v; want ErrNotFound", nfsData(got), err)
			}
			if _, err := s.Sweep(context.Background(), fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			if files, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*")); len(files) != 0 {
				t.Errorf("left in the shard: %v", files)
			}
		})
	}
}

// TestLostLockDeleteBesideSettle: a sweep settling a Delete's copy aside
// (.tmp-gd-<record>) under the session's lock, while the Delete's holder,
// its check passed, is stopped past its lease. The next holder saved
// meanwhile, so the sweep's put-back of the older copy finds the name
// taken and unlinks that copy by name; the stopped holder, resumed between
// the two, removes its copy there and moves the name, the next holder's
// record, to that aside name: the sweep's unlink must not take it.
func TestLostLockDeleteBesideSettle(t *testing.T) {
	ctx := context.Background()
	f := newLostLockDelete(t)
	a, b, sw, id, p, la := f.a, f.b, f.sw, f.id, f.p, f.la
	gdAside := filepath.Join(filepath.Dir(p), ".tmp-gd-"+filepath.Base(p))
	var (
		taken, release = make(chan struct{}), make(chan struct{})
		swept          = make(chan error, 1)
	)
	sw.SetSweepHooksForTest(func(oldpath, newpath string) error {
		err := os.Link(oldpath, newpath)
		if oldpath == gdAside && errors.Is(err, fs.ErrExist) {
			close(taken)
			<-release
		}
		return err
	}, nil, nil)
	a.SetDeleteHookForTest(func(step string) {
		switch step {
		case "name check":
			// The holder stopped past its lease: the next holder
			// saves, and a sweep settles the copy aside.
			if !f.breakLease(t) {
				return
			}
			lb, err := b.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Error(err)
				return
			}
			if err := lockedSaveIn(ctx, lb, "B"); err != nil {
				t.Errorf("next holder's save: %v", err)
			}
			if err := lb.Unlock(); err != nil {
				t.Error(err)
			}
			go func() {
				_, err := sw.Sweep(ctx, fsstore.SweepOptions{})
				swept <- err
			}()
			select {
			case <-taken:
			case err := <-swept:
				t.Errorf("sweep ended (%v) without putting the copy aside back", err)
			}
		case "again":
			// The name, the next holder's record, is at the aside
			// name now: the sweep goes on.
			close(release)
			if err := <-swept; err != nil {
				t.Errorf("sweep: %v", err)
			}
		}
	})
	err := la.Delete(ctx)
	a.SetDeleteHookForTest(nil)
	if t.Failed() {
		return
	}
	if !errors.Is(err, fsstore.ErrLockLost) {
		t.Errorf("Delete under a lock lost meanwhile: %v; want ErrLockLost", err)
	}
	if _, err := sw.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Load(ctx, id); err != nil || string(got.Data) != "B" {
		t.Fatalf("next holder's record after the Delete under the lost lock and the sweep: %v, %v; want %q", nfsData(got), err, "B")
	}
}

// TestAsideCopiesNewerWins: two copies of a session aside at once, the
// sweep's (.tmp-gc-) and a locked Delete's (.tmp-gd-); the sweep that
// settles them must judge the one saved last, put it back live or remove
// it expired, and remove the other as superseded, whichever name holds
// which, and Stats count them so: one session (live, or expired) and a
// stale temp file. A session re-created while a copy of its earlier self
// was aside (a create over a record expired to Loads, still within the
// sweep's grace) has a later Created: it is the newer whatever the
// versions say. Seen on the old code: the re-created session lost when
// the sweep's copy was the older (each copy judged on its own, the older,
// settled first, took the name, and the re-created one went as the
// older); the older copy put back, live, when the newer had expired (the
// session ended coming back with its older data); and Stats counting one
// session twice, once expired and once live, where one copy had expired.
func TestAsideCopiesNewerWins(t *testing.T) {
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	older := fsstore.Session{Data: []byte("old"), Created: t0, Version: 7}
	newer := fsstore.Session{Data: []byte("new"), Created: t0, Version: 8}
	recreated := fsstore.Session{Data: []byte("new"), Created: t0.Add(time.Minute), Version: 3}
	type counts struct{ live, expired, staleTemps, restorable int64 }
	for _, tc := range []struct {
		name   string
		gc, gd fsstore.Session // Data, Created, Version
		aged   string          // the copy made expired: "gc", "gd" or none
		broken string          // the copy whose bytes are damaged: "gc", "gd" or none
		want   string          // the session afterwards; "" none
		stats  counts
	}{
		{"re-created, Delete's the newer", older, recreated, "", "", "new", counts{1, 0, 1, 1}},
		{"re-created, sweep's the newer", recreated, older, "", "", "new", counts{1, 0, 1, 1}},
		{"one session, Delete's the newer", older, newer, "", "", "new", counts{1, 0, 1, 1}},
		{"one session, sweep's the newer", newer, older, "", "", "new", counts{1, 0, 1, 1}},
		{"the newer expired, sweep's", newer, older, "gc", "", "", counts{0, 1, 1, 0}},
		{"the newer expired, Delete's", older, newer, "gd", "", "", counts{0, 1, 1, 0}},
		{"the older expired, sweep's", older, newer, "gc", "", "new", counts{1, 0, 1, 1}},
		{"the older expired, Delete's", newer, older, "gd", "", "new", counts{1, 0, 1, 1}},
		// A damaged copy is older than one that decodes: the next
		// holder's create over the record Load reported corrupt.
		{"sweep's damaged", newer, recreated, "", "gc", "new", counts{1, 0, 1, 1}},
		{"Delete's damaged", recreated, newer, "", "gd", "new", counts{1, 0, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			p := s.RecordPathForTest(id)
			for _, c := range []struct {
				sess fsstore.Session
				kind string
			}{{tc.gc, "gc"}, {tc.gd, "gd"}} {
				sess := c.sess
				sess.ID = id
				sess.Version-- // Save writes Version+1
				// The newer saved last: its mtime, the server's clock, is
				// the later. Expired, it was saved with a short idle
				// timeout (the older one, a long one); aged, the older
				// is older still.
				saved := time.Now().Add(-5 * time.Minute)
				if string(sess.Data) == "new" {
					saved = saved.Add(time.Minute)
					if c.kind == tc.aged {
						sess.Idle = time.Second
					}
				}
				if err := s.Save(ctx, &sess); err != nil {
					t.Fatal(err)
				}
				aside := filepath.Join(filepath.Dir(p), ".tmp-"+c.kind+"-"+filepath.Base(p))
				if err := os.Rename(p, aside); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(aside, saved, saved); err != nil {
					t.Fatal(err)
				}
				if c.kind == tc.aged && string(sess.Data) != "new" {
					age(t, aside)
				}
				if c.kind == tc.broken {
					if err := os.WriteFile(aside, []byte("damaged: no record header, and no record's bytes at all"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if st, err := s.Stats(ctx, fsstore.StatsOptions{}); err != nil || (counts{st.Live, st.Expired, st.StaleTemps, st.Restorable}) != tc.stats {
				t.Errorf("Stats: %+v, %v; want live, expired, stale temps, restorable %v", st, err, tc.stats)
			}
			sessions, restored := int64(0), int64(0)
			if tc.want == "" {
				sessions = 1
			} else {
				restored = 1
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Restored != restored || st.Sessions != sessions || st.Temps != 1 || st.Errors != 0 {
				t.Errorf("sweep: %+v, %v; want %d restored, %d expired session and one superseded copy removed", st, err, restored, sessions)
			}
			if tc.want != "" {
				mustLoad(t, s, id, tc.want)
			} else if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load afterwards: %v, %v; want ErrNotFound, the session's last save expired", nfsData(got), err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*")); len(left) != 0 {
				t.Errorf("left in the shard: %v", left)
			}
		})
	}
}

// TestStatsRecordGoneToDeleteAside: a record the listing showed under its
// name, gone by Stats' look at it, moved to a locked Delete's aside name
// (.tmp-gd-) whose entry the listing had passed: Stats counts it there, as
// Loads find it and the sweep puts it back. It looked at the sweep's aside
// name only, and counted no session.
func TestStatsRecordGoneToDeleteAside(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	p := s.RecordPathForTest(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	s.SetSweepRelistHookForTest(func(dir string) []fs.DirEntry {
		var listed []fs.DirEntry
		once.Do(func() {
			// Listed under its name in a chunk read after the one that
			// would have shown the aside name, then moved aside.
			mustSave(t, s, id, "old")
			fi, err := os.Lstat(p)
			if err != nil {
				t.Error(err)
				return
			}
			listed = append(listed, fs.FileInfoToDirEntry(fi))
			if err := os.Rename(p, filepath.Join(dir, ".tmp-gd-"+filepath.Base(p))); err != nil {
				t.Error(err)
			}
		})
		return listed
	})
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	s.SetSweepRelistHookForTest(nil)
	if err != nil || st.Live != 1 || st.Restorable != 1 || st.Errors != 0 {
		t.Errorf("Stats: %+v, %v; want the session counted live, restorable, at the Delete's aside name", st, err)
	}
}

// TestAsideCopiesNewerRead: with a copy of the session under each aside
// name and none under its name (a sweep that died with one aside, a
// Delete that found its lock lost with the next holder's newer save),
// Load and Range read the newer, and Touch renews it: the session, as the sweep
// settles them (TestAsideCopiesNewerWins). Seen reading the older, the
// sweep's, which a save under the lock then built on, undoing the
// newer's; and touching it, the newer left to expire.
func TestAsideCopiesNewerRead(t *testing.T) {
	ctx := context.Background()
	for _, op := range []string{"load", "touch", "range"} {
		t.Run(op, func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			// Saved last, the newer's mtime is the later.
			then := time.Now().Add(-testIdle / 2).Truncate(time.Second)
			_, gd := placeAside(t, s, id, asideCopy{".tmp-gc-", "old", then.Add(-time.Second)}, asideCopy{".tmp-gd-", "new", then})
			switch op {
			case "load":
				mustLoad(t, s, id, "new")
			case "range":
				var got []string
				st, err := s.Range(ctx, func(r *fsstore.Record) bool {
					got = append(got, string(r.Data))
					return true
				})
				if err != nil || len(got) != 1 || got[0] != "new" {
					t.Errorf("Range: %q (%+v), %v; want the newer copy, once", got, st, err)
				}
			case "touch":
				if err := s.Touch(ctx, id); err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Stat(gd); err != nil || !fi.ModTime().After(then) {
					t.Errorf("the newer copy aside after Touch: %v, %v; want it touched (mtime after %v)", fi.ModTime(), err, then)
				}
			}
		})
	}
}

// TestAsideCopiesSkewedBlindSaves: two copies of a session aside, each
// from a blind save (Created zero, as the adapters and httpsession's
// Manager save: each stamps Created with its host's clock and starts a
// version afresh), the later on a host whose clock lags the other's. The
// later save is the session: Load reads it, and the sweep puts it back.
func TestAsideCopiesSkewedBlindSaves(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	p := s.RecordPathForTest(id)
	for _, c := range []struct {
		created time.Time // a blind save's: its host's clock
		data    string
		prefix  string
	}{{time.Now(), "first", ".tmp-gc-"}, {time.Now().Add(-2 * time.Second), "second", ".tmp-gd-"}} {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(c.data), Created: c.created}); err != nil {
			t.Fatal(err)
		}
		aside := filepath.Join(filepath.Dir(p), c.prefix+filepath.Base(p))
		if err := os.Rename(p, aside); err != nil {
			t.Fatal(err)
		}
		// The file server stamps each save's mtime: the first, a
		// second before the second.
		if c.data == "first" {
			then := time.Now().Add(-time.Second)
			if err := os.Chtimes(aside, then, then); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustLoad(t, s, id, "second")
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s, id, "second")
}
