package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestAsideCopyUnreadable: a copy of the session under each aside name
// and none under its name (a sweep that died with one aside, a Delete
// that found its lock lost with the next holder's newer save), the newer
// unreadable this instant (EIO, ESTALE, EACCES from the file server). No
// operation may take the older for the session because the other could
// not be read: each reports the read error, and the sweep leaves both
// for a later pass, which puts back the newer. Seen on the old code: a
// Load that could not read the Delete's copy served the sweep's, older
// (and a create under the lock saved over it), Touch renewed the older,
// Range listed it, Stats counted it live, and the sweep put it back, the
// newer then removed as the older.
func TestAsideCopyUnreadable(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"gd", "gc"} {
		for _, op := range []string{"load", "create", "touch", "range", "stats", "sweep"} {
			t.Run(bad+"/"+op, func(t *testing.T) {
				s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
				id := newID(t)
				p := s.RecordPathForTest(id)
				aside := func(kind string) string {
					return asidePath(p, ".tmp-"+kind+"-")
				}
				good := "gc"
				if bad == "gc" {
					good = "gd"
				}
				// The older at the readable copy's name; the newer, a
				// second later, at the unreadable one's.
				then := time.Now().Add(-testIdle / 2).Truncate(time.Second)
				placeAside(t, s, id, asideCopy{".tmp-" + good + "-", "old", then.Add(-time.Second)}, asideCopy{".tmp-" + bad + "-", "new", then})
				goodBefore, err := os.Stat(aside(good))
				if err != nil {
					t.Fatal(err)
				}
				s.SetFaultForTest(func(path string) error {
					if path == aside(bad) {
						return syscall.EIO
					}
					return nil
				})
				switch op {
				case "load":
					got, err := s.Load(ctx, id)
					if err == nil || !errors.Is(err, syscall.EIO) {
						t.Errorf("Load: %q, %v; want the unreadable copy's error (EIO), not the older copy", nfsData(got), err)
					}
				case "create":
					err := s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")})
					if !errors.Is(err, syscall.EIO) {
						t.Errorf("CompareAndSwap creating: %v; want the unreadable copy's error (EIO)", err)
					}
					if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("a record saved under the name (%v): want none, the session unknown", err)
					}
				case "touch":
					if err := s.Touch(ctx, id); !errors.Is(err, syscall.EIO) {
						t.Errorf("Touch: %v; want the unreadable copy's error (EIO)", err)
					}
					if fi, err := os.Stat(aside(good)); err != nil || !fi.ModTime().Equal(goodBefore.ModTime()) {
						t.Errorf("the older copy after Touch: %v, %v; want it untouched (%v)", fi.ModTime(), err, goodBefore.ModTime())
					}
				case "range":
					var got [][]byte
					st, err := s.Range(ctx, func(r *fsstore.Record) bool {
						got = append(got, r.Data)
						return true
					})
					if err != nil || len(got) != 0 || st.Errors != 1 {
						t.Errorf("Range: %q (%+v), %v; want nothing listed, one error", got, st, err)
					}
				case "stats":
					st, err := s.Stats(ctx, fsstore.StatsOptions{})
					if err != nil || st.Live != 0 || st.Expired != 0 || st.Restorable != 0 || st.Errors == 0 {
						t.Errorf("Stats: %+v, %v; want no session counted from the older copy, and errors", st, err)
					}
				case "sweep":
					st, err := s.Sweep(ctx, fsstore.SweepOptions{})
					if err != nil || st.Errors == 0 || st.Restored != 0 || st.Temps != 0 || st.Sessions != 0 {
						t.Errorf("sweep: %+v, %v; want errors, nothing put back or removed", st, err)
					}
					for _, kind := range []string{"gc", "gd"} {
						if _, err := os.Lstat(aside(kind)); err != nil {
							t.Errorf("copy %s after the sweep: %v; want it left", kind, err)
						}
					}
					s.SetFaultForTest(nil)
					if st, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Restored != 1 || st.Temps != 1 || st.Errors != 0 {
						t.Errorf("the next sweep, the copy readable: %+v, %v; want the newer put back, the older removed", st, err)
					}
					mustLoad(t, s, id, "new")
				}
				s.SetFaultForTest(nil)
				if op != "sweep" {
					mustLoad(t, s, id, "new")
				}
				if b, err := os.ReadFile(aside(good)); op != "sweep" && (err != nil || !bytes.Contains(b, []byte("old"))) {
					t.Errorf("the older copy: %v; want it still aside", err)
				}
			})
		}
	}
}

// TestTouchAsideCopyStaleOnce: as TestAsideCopyUnreadable's touch, the
// Delete's copy the newer, its first look ESTALE (on NFS, the file behind
// the name replaced in that instant), its next one fine: Touch looks
// again, as Load does, and renews the newer. Seen on the old code: the
// older renewed, the newer left to expire.
func TestTouchAsideCopyStaleOnce(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	then := time.Now().Add(-testIdle / 2).Truncate(time.Second)
	gc, gd := placeAside(t, s, id, asideCopy{".tmp-gc-", "old", then.Add(-time.Second)}, asideCopy{".tmp-gd-", "new", then})
	stale := true
	s.SetFaultForTest(func(path string) error {
		if path == gd && stale {
			stale = false
			return syscall.ESTALE
		}
		return nil
	})
	if err := s.Touch(ctx, id); err != nil {
		t.Fatalf("Touch, the newer copy's first look ESTALE: %v", err)
	}
	s.SetFaultForTest(nil)
	if fi, err := os.Stat(gd); err != nil || !fi.ModTime().After(then) {
		t.Errorf("the newer copy after Touch: %v, %v; want it touched (mtime after %v)", fi.ModTime(), err, then)
	}
	if fi, err := os.Stat(gc); err != nil || fi.ModTime().After(then) {
		t.Errorf("the older copy after Touch: %v, %v; want it untouched", fi.ModTime(), err)
	}
}

// TestRekeyAsideCopyUnreadable: as TestRekeyNewerCopyAside, the sweep's
// copy older and expired, the Delete's newer and live under the old key,
// but the Delete's unreadable this instant. The rekey reports the error:
// judged by the older, it counted the record expired, the pass reported
// nothing left to do, and retiring the old key lost the session the sweep
// later put back under it.
func TestRekeyAsideCopyUnreadable(t *testing.T) {
	rk, gd := newerCopyAsideUnderOldKey(t)
	rk.SetFaultForTest(func(path string) error {
		if path == gd {
			return syscall.EIO
		}
		return nil
	})
	var msgs []string
	st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) { msgs = append(msgs, err.Error()) }})
	if err != nil || st.Errors != 1 || st.Expired != 0 || len(msgs) != 1 || !strings.Contains(msgs[0], filepath.Base(gd)) {
		t.Fatalf("Rekey with the newer copy aside unreadable = %+v, %v, %q; want one error naming it, not expired", st, err, msgs)
	}
	rk.SetFaultForTest(nil)
	sweptThenRekeyed(t, rk)
}

// TestSweepUnreadableCopyPastLife: a copy aside whose data cannot be read
// for good (an EACCES of a file another user made, an EIO of a damaged
// one; its attributes can be read) but whose mtime is past the life any
// session of the store may have (the marker's idle timeout plus Grace,
// past which the listing removes a record unread) is expired whatever its
// header says: the sweep removes it, alone or beside a newer copy, which
// it then puts back. One younger than that is left, with its error. Seen
// on the old code: every sweep left it with an error, and every Load of
// the session failed on it, for good.
func TestSweepUnreadableCopyPastLife(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	past, young, live := now.Add(-testIdle-5*time.Minute), now.Add(-testIdle-30*time.Second), now.Add(-testIdle/2)
	for _, tc := range []struct {
		name   string
		copies []asideCopy // the first is the unreadable one
		want   fsstore.SweepStats
		stats  fsstore.Stats // Stats before the sweep, as it predicts it
		load   string        // "" for ErrNotFound
		left   bool          // the unreadable copy stays, the sweep reporting it
	}{
		{name: "sweep's alone", copies: []asideCopy{{".tmp-gc-", "old", past}}, want: fsstore.SweepStats{Sessions: 1}, stats: fsstore.Stats{Expired: 1}},
		{name: "Delete's alone", copies: []asideCopy{{".tmp-gd-", "old", past}}, want: fsstore.SweepStats{Sessions: 1}, stats: fsstore.Stats{Expired: 1}},
		{name: "Delete's beside a newer", copies: []asideCopy{{".tmp-gd-", "old", past}, {".tmp-gc-", "new", live}}, want: fsstore.SweepStats{Restored: 1, Temps: 1}, stats: fsstore.Stats{Live: 1, Restorable: 1, StaleTemps: 1}, load: "new"},
		{name: "sweep's beside a newer", copies: []asideCopy{{".tmp-gc-", "old", past}, {".tmp-gd-", "new", live}}, want: fsstore.SweepStats{Restored: 1, Temps: 1}, stats: fsstore.Stats{Live: 1, Restorable: 1, StaleTemps: 1}, load: "new"},
		{name: "within the life", copies: []asideCopy{{".tmp-gd-", "old", young}}, want: fsstore.SweepStats{Errors: 1}, stats: fsstore.Stats{Errors: 1}, left: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			placeAside(t, s, id, tc.copies...)
			p := s.RecordPathForTest(id)
			bad := asidePath(p, tc.copies[0].prefix)
			s.SetOpenFaultForTest(func(path string) error {
				if _, err := os.Lstat(path); err == nil && path == bad {
					return syscall.EACCES // the file, not its name
				}
				return nil
			})
			defer s.SetOpenFaultForTest(nil)
			if got, err := s.Stats(ctx, fsstore.StatsOptions{}); err != nil || got.Live != tc.stats.Live || got.Expired != tc.stats.Expired || got.Restorable != tc.stats.Restorable || got.StaleTemps != tc.stats.StaleTemps || got.Errors != tc.stats.Errors {
				t.Errorf("Stats: %+v, %v; want live %d, expired %d, restorable %d, stale temps %d, errors %d", got, err, tc.stats.Live, tc.stats.Expired, tc.stats.Restorable, tc.stats.StaleTemps, tc.stats.Errors)
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Sessions != tc.want.Sessions || st.Restored != tc.want.Restored || st.Temps != tc.want.Temps || st.Errors != tc.want.Errors {
				t.Errorf("sweep: %+v, %v; want sessions %d, restored %d, temps %d, errors %d", st, err, tc.want.Sessions, tc.want.Restored, tc.want.Temps, tc.want.Errors)
			}
			if _, err := os.Lstat(bad); (err == nil) != tc.left {
				t.Errorf("the unreadable copy after the sweep: %v; want it left %v", err, tc.left)
			}
			switch got, err := s.Load(ctx, id); {
			case tc.left:
				if !errors.Is(err, fsstore.ErrRefused) {
					t.Errorf("Load: %v; want the unreadable copy's error", err)
				}
			case tc.load == "":
				if !errors.Is(err, fsstore.ErrNotFound) {
					t.Errorf("Load: %v; want ErrNotFound", err)
				}
			case err != nil || string(got.Data) != tc.load:
				t.Errorf("Load: %v; want %q", err, tc.load)
			}
		})
	}
}
