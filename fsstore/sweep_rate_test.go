//go:build unix

package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestSweepRateSpentOnWorkOnly: Rate bounds removals and the settling of
// records an earlier sweep left aside, and a record the sweep looks at
// and leaves as it is takes no turn under it: one whose session a request
// holds, one live by its own idle timeout past a lowered marker, one gone
// since the listing. At 1e-20 a second the first turn is free and the
// second never comes, so a sweep with one removal and a record it leaves
// ends at once; one that spent a turn on the record it left waits for
// good (the deadline only ends that wait).
func TestSweepRateSpentOnWorkOnly(t *testing.T) {
	type setup struct {
		dir     string
		app, gc *fsstore.Store
	}
	save := func(t *testing.T, s *fsstore.Store, id string) string {
		t.Helper()
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		return s.RecordPathForTest(id)
	}
	lock := func(t *testing.T, s *fsstore.Store, id string) {
		t.Helper()
		l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Unlock() })
	}
	for _, tc := range []struct {
		name string
		// leave makes the record the sweep leaves as it is, and returns
		// its path, where it is found after the sweep ("" for none).
		leave      func(t *testing.T, s setup) string
		wantLocked int64
	}{
		{"aside, session locked", func(t *testing.T, s setup) string {
			id := newID(t)
			p := save(t, s.app, id)
			lock(t, s.app, id)
			mustRename(t, p, asideOf(p))
			return asideOf(p)
		}, 1},
		{"aside, gone since the listing", func(t *testing.T, s setup) string {
			p := save(t, s.app, newID(t))
			gone := asideOf(s.app.RecordPathForTest(newID(t)))
			listed := false
			s.gc.SetSweepRelistHookForTest(func(dir string) []fs.DirEntry {
				if dir != filepath.Dir(gone) || listed {
					return nil
				}
				listed = true
				return []fs.DirEntry{namedEntry{entryOf(t, p), filepath.Base(gone)}}
			})
			return p
		}, 0},
		{"past the lowered marker, live by its header", func(t *testing.T, s setup) string {
			return save(t, s.app, newID(t))
		}, 0},
		{"past the lowered marker, session locked", func(t *testing.T, s setup) string {
			id := newID(t)
			p := save(t, s.app, id)
			lock(t, s.app, id)
			return p
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			dir := t.TempDir()
			// Depth 0: every record in one directory.
			app := openDir(t, dir, fsstore.WithIdleTimeout(2*time.Hour), fsstore.WithClock(clock.Now), fsstore.WithShardDepth(0))
			expired := save(t, app, newID(t))
			old := clock.Now().Add(-48 * time.Hour)
			if err := os.Chtimes(expired, old, old); err != nil {
				t.Fatal(err)
			}
			// A sweeper that uses no idle of its own, as sessgc opens the
			// store, after an operator lowered the marker's max idle: a
			// record 90 minutes idle is read by its header, under its lock.
			gc := openDir(t, dir, fsstore.WithIdleTimeout(time.Second), fsstore.WithClock(clock.Now))
			kept := tc.leave(t, setup{dir, app, gc})
			setMarkerIdle(t, dir, time.Hour)
			clock.Advance(90 * time.Minute)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := gc.Sweep(ctx, fsstore.SweepOptions{Rate: 1e-20})
			if err != nil || st.Sessions != 1 || st.Errors != 0 || st.SkippedLocked != tc.wantLocked {
				t.Fatalf("a sweep capped at 1e-20 a second with one expired record and one it leaves = %+v, %v; want the expired one removed, %d skipped as locked, no error",
					st, err, tc.wantLocked)
			}
			if exists(t, expired) || !exists(t, kept) {
				t.Errorf("after the sweep: expired record there %v, the record left as it is there %v", exists(t, expired), exists(t, kept))
			}
		})
	}
}
