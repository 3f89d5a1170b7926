//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRekeyLeavesRequestsChanges: the rekey's lock keeps out locked
// writers only, and Store.Save, Delete and Touch take none (scs's and
// gorilla's stores use them). A request that deletes, saves or touches a
// record after the rekey read it and before its rename must find its
// change in place afterwards: no logged-out session back, no save lost,
// no touch undone (which expired the session early). A touched record
// stays under the old key only until the rekey reads it again.
func TestRekeyLeavesRequestsChanges(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, tc := range []struct {
		name    string
		request func(t *testing.T, app *fsstore.Store, id string)
		check   func(t *testing.T, app *fsstore.Store, id, p string)
	}{
		{"delete", func(t *testing.T, app *fsstore.Store, id string) {
			if err := app.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, app *fsstore.Store, id, p string) {
			if got, err := app.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load of the session deleted during the rekey = %q, %v; want ErrNotFound", got.Data, err)
			}
		}},
		{"save", func(t *testing.T, app *fsstore.Store, id string) {
			if err := app.Save(ctx, &fsstore.Session{ID: id, Version: 1, Data: []byte("new")}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, app *fsstore.Store, id, p string) {
			got, err := app.Load(ctx, id)
			if err != nil || string(got.Data) != "new" || got.Version != 2 {
				t.Errorf("Load of the session saved during the rekey = %q version %d, %v; want new, version 2", got.Data, got.Version, err)
			}
		}},
		{"touch", func(t *testing.T, app *fsstore.Store, id string) {
			if err := app.Touch(ctx, id); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, app *fsstore.Store, id, p string) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if age := time.Since(st.ModTime()); age > 10*time.Minute {
				t.Errorf("last activity of the session touched during the rekey is %v ago; the touch was undone", age.Round(time.Minute))
			}
			if got, err := app.Load(ctx, id); err != nil || string(got.Data) != "old" {
				t.Errorf("Load = %q, %v; want old", got.Data, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			id, p := savedUnderKey(t, dir, k1)
			idle := time.Now().Add(-50 * time.Minute)
			if err := os.Chtimes(p, idle, idle); err != nil {
				t.Fatal(err)
			}
			app, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			rk := rekeyingStore(t, dir, k2, k1)
			reads := 0
			rk.SetRekeyReadHookForTest(func(string) {
				if reads++; reads == 1 {
					tc.request(t, app, id)
				}
			})
			st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
			if err != nil || st.Errors != 0 {
				t.Fatalf("Rekey = %+v, %v", st, err)
			}
			tc.check(t, app, id, p)
			// Whatever is left is under the newest key: the old one can go.
			only2, err := fsstore.Open(dir, fsstore.WithKeys(k2), fsstore.WithIdleTimeout(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			defer only2.Close()
			if _, err := only2.Load(ctx, id); err != nil && !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Load with the old key retired: %v", err)
			}
		})
	}
}

// TestRekeyGivesUpOnABusyRecord: a record that requests change at every
// read is reported as an error, for the next pass, not counted as done:
// an operator retires the old key once a pass reports no errors.
func TestRekeyGivesUpOnABusyRecord(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	_, p := savedUnderKey(t, dir, k1)
	rk := rekeyingStore(t, dir, k2, k1)
	touches := 0
	rk.SetRekeyReadHookForTest(func(string) {
		touches++
		at := time.Now().Add(time.Duration(touches) * time.Second)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Error(err)
		}
	})
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Errors != 1 || st.Rekeyed != 0 || st.UpToDate != 0 {
		t.Fatalf("Rekey of a record touched at every read = %+v, %v; want one error", st, err)
	}
	rk.SetRekeyReadHookForTest(nil)
	if st, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 {
		t.Fatalf("next pass = %+v, %v; want the record rekeyed", st, err)
	}
}

// TestRekeyRecordAside: a record a sweep holds aside while the rekey
// lists its shard is not under its name. Counted as up to date, the pass
// reported nothing left to do, and the sweep put the live record back
// under the old key, lost once that key was retired. It is an error until
// it is back (an expired one is left to the sweep, as under its name).
func TestRekeyRecordAside(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, expired := range []bool{false, true} {
		t.Run(map[bool]string{false: "live", true: "expired"}[expired], func(t *testing.T) {
			dir := t.TempDir()
			_, p := savedUnderKey(t, dir, k1)
			if expired {
				long := time.Now().Add(-2 * time.Hour)
				if err := os.Chtimes(p, long, long); err != nil {
					t.Fatal(err)
				}
			}
			rk := rekeyingStore(t, dir, k2, k1)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			rk.SetRekeyListedHookForTest(func(name string) { // the sweep moves it as the rekey lists it
				if err := os.Rename(p, aside); err != nil {
					t.Error(err)
				}
			})
			st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if expired {
				if st.Expired != 1 || st.Errors != 0 {
					t.Errorf("Rekey with an expired record aside = %+v; want it expired, left to the sweep", st)
				}
				return
			}
			if st.Errors != 1 || st.UpToDate != 0 {
				t.Errorf("Rekey with a live record aside = %+v; want an error, not up to date", st)
			}
			rk.SetRekeyListedHookForTest(nil)
			if err := os.Rename(aside, p); err != nil { // put back
				t.Fatal(err)
			}
			if st, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 {
				t.Fatalf("pass after the put-back = %+v, %v; want the record rekeyed", st, err)
			}
		})
	}
}

// TestRekeyRecordPutBack: a sweep holds the record aside as the rekey
// reads its name, and puts it back before the rekey looks at the aside
// name. Counted as deleted (up to date), it stayed under the old key, and
// retiring that key lost the live session. The name is read once more.
func TestRekeyRecordPutBack(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	_, p := savedUnderKey(t, dir, k1)
	rk := rekeyingStore(t, dir, k2, k1)
	aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
	rk.SetRekeyListedHookForTest(func(string) { // the sweep moves it as the rekey lists it
		if err := os.Rename(p, aside); err != nil {
			t.Error(err)
		}
	})
	putBack := putBackAtAsideLook(t, rk, aside, p)
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *putBack == 0 {
		t.Fatal("the rekey found the record under its name while it was aside")
	}
	if st.Rekeyed != 1 || st.UpToDate != 0 || st.Errors != 0 {
		t.Errorf("Rekey with the record put back between its looks = %+v; want it rekeyed", st)
	}
}

// TestRekeyRecordLeftAside: a record left aside by a sweep that died (or
// could not put it back), or by a locked Delete that found its lock lost
// (or was killed there), is not listed under its name at all. A pass that
// saw nothing of it reported no errors, and the next sweep put the live
// record back under the old key, lost once that key was retired. The
// error names the file aside and what left it there: it called a
// Delete's copy one a sweep held, by the sweep's aside name.
func TestRekeyRecordLeftAside(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, tc := range []struct{ prefix, by string }{
		{".tmp-gc-", "by a sweep"},
		{".tmp-gd-", "by a locked Delete"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			dir := t.TempDir()
			_, p := savedUnderKey(t, dir, k1)
			aside := filepath.Join(filepath.Dir(p), tc.prefix+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			rk := rekeyingStore(t, dir, k2, k1)
			var msgs []string
			st, err := rk.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { msgs = append(msgs, err.Error()) }})
			if err != nil || st.Errors != 1 {
				t.Fatalf("Rekey with a live record left aside = %+v, %v; want one error", st, err)
			}
			if len(msgs) != 1 || !strings.Contains(msgs[0], "(as "+filepath.Base(aside)+")") || !strings.Contains(msgs[0], tc.by) {
				t.Errorf("Rekey's error for a record left at %s: %q; want it named, left there %s", filepath.Base(aside), msgs, tc.by)
			}
			if _, err := rk.Sweep(ctx, fsstore.SweepOptions{}); err != nil { // puts it back
				t.Fatal(err)
			}
			if st, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 || st.Errors != 0 {
				t.Fatalf("pass after the sweep = %+v, %v; want the record rekeyed", st, err)
			}
		})
	}
}

// savedUnderKey saves a session "old" (idle timeout 1h) in the store in dir
// sealed with key k, and returns its ID and its record's path.
func savedUnderKey(t *testing.T, dir string, k fsstore.Key) (id, p string) {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithKeys(k), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id = newID(t)
	if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	return id, s.RecordPathForTest(id)
}

// rekeyingStore opens the store in dir as sessgc rekey does, with keys,
// once an application host has opened it with them (a rekey refuses a
// newest key no host has).
func rekeyingStore(t *testing.T, dir string, keys ...fsstore.Key) *fsstore.Store {
	t.Helper()
	app, err := fsstore.Open(dir, fsstore.WithKeys(keys...))
	if err != nil {
		t.Fatal(err)
	}
	app.Close()
	s, err := fsstore.Open(dir, fsstore.WithKeys(keys...), fsstore.WithMaintenanceOnly())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRekeyWaitsForRunningSweep: a record that a running sweep holds
// aside for an instant (its batch is being settled) is rekeyed once the
// sweep has put it back: three reads back to back missed it, and the pass
// failed it with advice to run a sweep, while one ran. The sweep here
// renews the record between its judgement and its move, so that it puts
// it back, and is held after the move until the rekey is about to wait.
func TestRekeyWaitsForRunningSweep(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	_, p := savedUnderKey(t, dir, k1)
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(p, long, long); err != nil {
		t.Fatal(err)
	}
	rk := rekeyingStore(t, dir, k2, k1)
	gc := rekeyingStore(t, dir, k2, k1)
	aside, release := make(chan struct{}), make(chan struct{})
	var asideOnce, releaseOnce sync.Once
	gc.SetSweepHooksForTest(nil, func(string) {
		now := time.Now()
		if err := os.Chtimes(p, now, now); err != nil { // a request's Touch
			t.Error(err)
		}
	}, func(string) {
		asideOnce.Do(func() { close(aside) })
		<-release
	})
	type sweepResult struct {
		st  fsstore.SweepStats
		err error
	}
	swept := make(chan sweepResult, 1)
	go func() {
		st, err := gc.Sweep(ctx, sweepOpts)
		swept <- sweepResult{st, err}
	}()
	<-aside
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	defer letGo()
	rk.SetRekeyAsideWaitHookForTest(func(string) { letGo() })
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { t.Errorf("rekey: %v", err) }})
	letGo()
	if err != nil || st.Rekeyed != 1 || st.Errors != 0 {
		t.Errorf("Rekey while a sweep held the record aside = %+v, %v; want it rekeyed once the sweep put it back", st, err)
	}
	if r := <-swept; r.err != nil || r.st.SkippedRenewed != 1 {
		t.Errorf("sweep = %+v, %v; want the renewed record put back", r.st, r.err)
	}
}

// TestRekeyDeleteAroundCheck: a Delete (which takes no lock) that begins
// after the rekey's look found the record unchanged, and removes the
// rekey's fenced temp file, before the rekey's rename. The rename fails:
// the rekey counts the record raced, reads it again and finds it gone, no
// error. Before the Delete removed the temp file once more after its
// unlinks of the name, a Delete that had removed it before the rekey
// created its own, and the record after the look, ended before the rename,
// which then published the rewrite of the session the Delete had just
// ended: a log out undone after Delete returned nil. Every order of the
// Delete's steps around the look and the rename: TestRenameAcrossDelete.
func TestRekeyDeleteAroundCheck(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	id, _ := savedUnderKey(t, dir, k1)
	app, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	rk := rekeyingStore(t, dir, k2, k1)

	tempGone, resume, deleted := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	app.SetDeleteHookForTest(func(step string) {
		if step == "temp" {
			close(tempGone)
			<-resume // the rest of the Delete after the rekey's rename
		}
	})
	checks := 0
	rk.SetRekeyCheckedHookForTest(func(string) {
		if checks++; checks != 1 {
			return
		}
		go func() { deleted <- app.Delete(ctx, id) }()
		<-tempGone
	})
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
	close(resume)
	if derr := <-deleted; derr != nil {
		t.Errorf("Delete: %v", derr)
	}
	if err != nil || st.Errors != 0 {
		t.Fatalf("Rekey = %+v, %v; want a record deleted meanwhile counted as no error", st, err)
	}
	if got, err := app.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load of the session deleted during the rekey = %q, %v; want ErrNotFound", got.Data, err)
	}
}

// TestRekeyNewerCopyAside: a copy of the session under each aside name,
// the sweep's older and expired, the Delete's newer and live, both under
// the old key. The rekey judges the newer, the session the sweep puts
// back: an error until it is back. Judged by the older, it was counted
// expired, the pass reported nothing left to do, and retiring the old key
// lost the session the sweep then put back under it.
func TestRekeyNewerCopyAside(t *testing.T) {
	rk, _ := newerCopyAsideUnderOldKey(t)
	st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{})
	if err != nil || st.Errors != 1 || st.Expired != 0 {
		t.Fatalf("Rekey with the newer copy aside live under the old key = %+v, %v; want one error, not expired", st, err)
	}
	sweptThenRekeyed(t, rk)
}

// newerCopyAsideUnderOldKey makes a store under key 1 holding one session
// as two copies aside, the sweep's older and expired (the store's idle
// timeout is an hour), the Delete's newer and live, and returns a
// maintenance store rekeying to key 2 and the Delete's aside path.
func newerCopyAsideUnderOldKey(t *testing.T) (rk *fsstore.Store, gd string) {
	t.Helper()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, gd = placeAside(t, s, newID(t), asideCopy{".tmp-gc-", "old", time.Now().Add(-2 * time.Hour)}, asideCopy{".tmp-gd-", "old", time.Now()})
	return rekeyingStore(t, dir, k2, k1), gd
}

// sweptThenRekeyed: once a sweep puts the newer copy back, a rekey pass
// rekeys the record.
func sweptThenRekeyed(t *testing.T, rk *fsstore.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := rk.Sweep(ctx, fsstore.SweepOptions{}); err != nil { // puts the newer back
		t.Fatal(err)
	}
	if st, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 || st.Errors != 0 {
		t.Fatalf("pass after the sweep = %+v, %v; want the record rekeyed", st, err)
	}
}
