//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/lock"
)

// asideCopies puts a copy of session id under each aside name, none under
// its name: first the sweep's (.tmp-gc-), from a blind save on a host
// whose clock leads, then the Delete's (.tmp-gd-), saved a second later
// by the file server's clock from a host whose clock lags (an earlier
// Created, a fresh version). With future, the Delete's copy is a newer
// build's record (a header this build refuses as unsupported). It
// returns the versions of the two copies.
func asideCopies(t *testing.T, s *fsstore.Store, id string, future bool) (gc, gd uint64) {
	t.Helper()
	ctx := context.Background()
	p := s.RecordPathForTest(id)
	then := time.Now().Add(-testIdle / 2).Truncate(time.Second)
	for i, c := range []struct {
		created time.Time
		data    string
		prefix  string
	}{{time.Now(), "first", ".tmp-gc-"}, {time.Now().Add(-time.Minute), "second", ".tmp-gd-"}} {
		sess := &fsstore.Session{ID: id, Data: []byte(c.data), Created: c.created}
		if err := s.Save(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			gc = sess.Version
		} else {
			gd = sess.Version
		}
		aside := asidePath(p, c.prefix)
		if err := os.Rename(p, aside); err != nil {
			t.Fatal(err)
		}
		if future && c.prefix == ".tmp-gd-" {
			b, err := os.ReadFile(aside)
			if err != nil {
				t.Fatal(err)
			}
			h, pl, err := record.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			h.Flags |= 1 << 1 // a critical flag this build does not know
			if err := os.WriteFile(aside, record.Append(nil, &h, pl), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		at := then.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(aside, at, at); err != nil {
			t.Fatal(err)
		}
	}
	return gc, gd
}

// asideCopy is one copy of a session placeAside leaves aside: its aside
// name's prefix (".tmp-gc-", the sweep's; ".tmp-gd-", a locked Delete's),
// its data, and the mtime it gets.
type asideCopy struct {
	prefix, data string
	at           time.Time
}

// asidePath is the aside name under prefix (".tmp-gc-", the sweep's;
// ".tmp-gd-", the Delete's) of the record at p.
func asidePath(p, prefix string) string {
	return filepath.Join(filepath.Dir(p), prefix+filepath.Base(p))
}

// placeAside saves each copy in turn, as one session (each save a newer
// version), moves it to its aside name and dates it, and returns the
// paths of the sweep's and the Delete's aside names.
func placeAside(t *testing.T, s *fsstore.Store, id string, copies ...asideCopy) (gc, gd string) {
	t.Helper()
	p := s.RecordPathForTest(id)
	gc, gd = asidePath(p, ".tmp-gc-"), asidePath(p, ".tmp-gd-")
	sess := &fsstore.Session{ID: id}
	for _, c := range copies {
		sess.Data = []byte(c.data)
		if err := s.Save(context.Background(), sess); err != nil {
			t.Fatal(err)
		}
		aside := asidePath(p, c.prefix)
		if err := os.Rename(p, aside); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(aside, c.at, c.at); err != nil {
			t.Fatal(err)
		}
	}
	return gc, gd
}

// TestAsideCopiesCompareAndSwap: with two copies of a session aside, the
// later saved by the file server's clock but the earlier by its Created
// (TestAsideCopiesSkewedBlindSaves), a CompareAndSwap expecting the older
// copy's version is refused, and one expecting the newer's builds on it:
// the sweep afterwards keeps what it saved.
func TestAsideCopiesCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	for _, expect := range []string{"older", "newer"} {
		t.Run(expect, func(t *testing.T) {
			s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
			id := newID(t)
			gc, gd := asideCopies(t, s, id, false)
			v := gd
			if expect == "older" {
				v = gc
			}
			err := s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("swapped"), Version: v})
			want := "second"
			if expect == "older" {
				if !errors.Is(err, fsstore.ErrConflict) {
					t.Fatalf("CompareAndSwap expecting the older copy's version %d (newer %d): %v; want ErrConflict", gc, gd, err)
				}
			} else {
				if err != nil {
					t.Fatalf("CompareAndSwap expecting the newer copy's version: %v", err)
				}
				want = "swapped"
			}
			if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, s, id, want)
		})
	}
}

// TestAsideCopiesNewerBuild: a copy of a session aside that a newer build
// wrote (a header this build refuses as unsupported), saved after this
// build's copy beside it by the file server's clock, is the session: the
// sweep of this build keeps it and removes the older, as the newer build
// orders them, and Load reports it unsupported rather than serve the
// older. Seen on the old code: the order judged undecided, the older put
// back first and the newer build's record removed as superseded.
func TestAsideCopiesNewerBuild(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	asideCopies(t, s, id, true)
	if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrUnsupportedRecord) {
		t.Errorf("Load: %v, %v; want ErrUnsupportedRecord, the newer build's copy", nfsData(got), err)
	}
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrUnsupportedRecord) {
		t.Errorf("Load after the sweep: %v, %v; want ErrUnsupportedRecord, the newer build's record kept", nfsData(got), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(s.RecordPathForTest(id)), ".tmp-*")); len(left) != 0 {
		t.Errorf("left in the shard: %v", left)
	}
}

// TestAsideCopiesTouchDuringPutBack: a Touch that judged the sweep's copy
// aside the newer of two, and found it gone by its look there: the sweep
// put it back (it settles the newer first, then removes the older). The
// touch renews the session under its name, not the older copy, about to
// go. Seen on the old code: the Touch went on to the Delete's aside name,
// renewed the older copy, and reported the session touched while the one
// put back was not.
func TestAsideCopiesTouchDuringPutBack(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	p := s.RecordPathForTest(id)
	then := time.Now().Add(-testIdle / 2).Truncate(time.Second)
	// The sweep's the later saved.
	gc, gd := placeAside(t, s, id, asideCopy{".tmp-gd-", "old", then.Add(-time.Second)}, asideCopy{".tmp-gc-", "new", then})
	s.SetTouchAsideLookHookForTest(func(at string) {
		if at == gc {
			// The sweep's put-back of the newer: linked to the name,
			// unlinked from its aside name.
			if err := os.Link(gc, p); err != nil {
				t.Error(err)
			}
			if err := os.Remove(gc); err != nil {
				t.Error(err)
			}
		}
	})
	if err := s.Touch(ctx, id); err != nil {
		t.Fatal(err)
	}
	s.SetTouchAsideLookHookForTest(nil)
	if fi, err := os.Stat(p); err != nil || !fi.ModTime().After(then) {
		t.Errorf("the session put back, after Touch: mtime %v, %v; want it renewed (after %v)", fi.ModTime(), err, then)
	}
	if fi, err := os.Stat(gd); err != nil || fi.ModTime().After(then) {
		t.Errorf("the older copy aside, after Touch: mtime %v, %v; want it left as it was", fi.ModTime(), err)
	}
}
