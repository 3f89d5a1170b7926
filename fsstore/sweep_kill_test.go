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
	"github.com/sessfs/sessfs/internal/proctest"
)

// A sweep killed (SIGKILL, a real process) in the middle of a removal
// loses no session and leaves nothing a later sweep cannot settle: killed
// with the record moved aside and not yet checked, or, for a record
// renewed after its scan, with the record linked back under its name and
// still under its aside name too. Between the kill and the next sweep the
// session is loaded, and touched, saved, deleted or left to expire; the
// next sweep must leave exactly what those did, and count it once (as a
// dry run before it predicts).
func TestSweepKilledMidRemoval(t *testing.T) {
	ctx := context.Background()
	type step func(t *testing.T, s *fsstore.Store, id, p string)
	touch := func(t *testing.T, s *fsstore.Store, id, p string) {
		now := time.Now()
		if err := os.Chtimes(p, now, now); err != nil {
			t.Error(err)
		}
	}
	save := func(data string) step {
		return func(t *testing.T, s *fsstore.Store, id, p string) {
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
				t.Error(err)
			}
		}
	}
	storeTouch := func(t *testing.T, s *fsstore.Store, id, p string) {
		if err := s.Touch(ctx, id); err != nil {
			t.Errorf("Touch after the sweep died: %v", err)
		}
	}
	del := func(t *testing.T, s *fsstore.Store, id, p string) {
		if err := s.Delete(ctx, id); err != nil {
			t.Error(err)
		}
	}
	// expire ages the record wherever it is: under its name, its aside
	// name, or both (one file).
	expire := func(t *testing.T, s *fsstore.Store, id, p string) {
		for _, q := range []string{p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))} {
			if err := os.Chtimes(q, longAgo, longAgo); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Error(err)
			}
		}
	}
	for _, tc := range []struct {
		name      string
		stage     string // where the sweep is killed (see the sweep-kill helper)
		afterScan step   // between the sweep's judgement and its move
		loaded    string // what a Load finds after the kill; "": ErrNotFound
		afterKill []step // after that Load, before the next sweep
		want      string // the session after the next sweep; "": gone for good
		// The next sweep's counts.
		sessions, restored, temps int64
	}{
		{"expired, killed aside", "moved", nil, "", nil, "", 1, 0, 0},
		{"expired, killed aside, saved anew", "moved", nil, "", []step{save("new")}, "new", 1, 0, 0},
		{"saved after the scan, killed aside", "moved", save("fresh"), "fresh", nil, "fresh", 0, 1, 0},
		{"saved after the scan, killed aside, touched", "moved", save("fresh"), "fresh", []step{storeTouch}, "fresh", 0, 1, 0},
		{"saved after the scan, killed aside, saved again", "moved", save("fresh"), "fresh", []step{save("fresher")}, "fresher", 0, 0, 1},
		{"saved after the scan, killed aside, deleted", "moved", save("fresh"), "fresh", []step{del}, "", 0, 0, 0},
		{"touched after the scan, killed aside", "moved", touch, "old", nil, "old", 0, 1, 0},
		{"touched after the scan, killed aside, expired since", "moved", touch, "old", []step{expire}, "", 1, 0, 0},
		{"touched after the scan, killed linked back", "linked", touch, "old", nil, "old", 0, 0, 1},
		{"touched after the scan, killed linked back, touched", "linked", touch, "old", []step{storeTouch}, "old", 0, 0, 1},
		{"touched after the scan, killed linked back, saved", "linked", touch, "old", []step{save("fresh")}, "fresh", 0, 0, 1},
		{"touched after the scan, killed linked back, deleted", "linked", touch, "old", []step{del}, "", 0, 0, 0},
		// One session removed, and the leftover link aside as a temp
		// file, as when it is live: it was counted as a second session.
		{"touched after the scan, killed linked back, expired since", "linked", touch, "old", []step{expire}, "", 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, s, id, p := agedRecord(t)
			sw := startChild(t, "sweep-kill", []string{"STORE_DIR=" + dir, "STORE_STAGE=" + tc.stage})
			sw.Expect(t, "judged")
			if tc.afterScan != nil {
				tc.afterScan(t, s, id, p)
			}
			sw.Send(t, "go")
			sw.Expect(t, tc.stage)
			sw.Kill(t)

			sess, err := s.Load(ctx, id)
			switch {
			case tc.loaded == "" && !errors.Is(err, fsstore.ErrNotFound):
				t.Errorf("Load after the sweep died: %v, %v; want ErrNotFound", sess, err)
			case tc.loaded != "" && (err != nil || string(sess.Data) != tc.loaded):
				t.Errorf("Load after the sweep died: %v, %v; want %q", sess, err, tc.loaded)
			}
			for _, f := range tc.afterKill {
				f(t, s, id, p)
			}
			// A dry run first: it counts what the sweep then does.
			dry, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, DryRun: true})
			if err != nil || dry.Sessions != tc.sessions || dry.Restored != tc.restored || dry.Temps != tc.temps {
				t.Errorf("dry run: %+v, %v; want %d sessions and %d temp files removed, %d restored",
					dry, err, tc.sessions, tc.temps, tc.restored)
			}
			var removed []string
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, OnRemove: func(r fsstore.Removal) {
				removed = append(removed, filepath.Base(r.Path))
			}})
			if err != nil || st.Errors != 0 {
				t.Fatalf("the next sweep: %+v, %v", st, err)
			}
			if st.Sessions != tc.sessions || st.Restored != tc.restored || st.Temps != tc.temps {
				t.Errorf("the next sweep removed %d sessions and %d temp files, restored %d; want %d, %d and %d (removed %s; %+v)",
					st.Sessions, st.Temps, st.Restored, tc.sessions, tc.temps, tc.restored, strings.Join(removed, ", "), st)
			}
			checkEnded(t, s, id, tc.want)
		})
	}
}

// Two sweeps of one store (two hosts' crons) that both judged the same
// expired record: the second waits for the first's sweep lock before it
// moves anything, so a record saved after both scans, which the first
// holds aside while it checks, is neither replaced at the aside name nor
// removed by either, and Loads see it all along.
func TestTwoSweepsJudgeOneRecord(t *testing.T) {
	ctx := context.Background()
	dir, s, id, p := agedRecord(t)
	first := startChild(t, "sweep-step", []string{"STORE_DIR=" + dir})
	first.Expect(t, "judged") // holding the sweep lock

	second := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
	judged := make(chan struct{})
	var once sync.Once
	second.SetSweepJudgeStatHookForTest(func(name string, _ bool, mtime time.Time) time.Time {
		if name == filepath.Base(p) {
			once.Do(func() { close(judged) })
		}
		return mtime
	})
	type result struct {
		st  fsstore.SweepStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := second.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
		done <- result{st, err}
	}()
	select {
	case <-judged:
	case r := <-done:
		t.Fatalf("the second sweep ended (%+v, %v) without judging the record", r.st, r.err)
	case <-time.After(proctest.Deadline):
		t.Fatal("the second sweep did not judge the record")
	}

	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
		t.Fatal(err)
	}
	first.Send(t, "go")
	first.Expect(t, "moved")
	mustLoad(t, s, id, "fresh") // held aside by the first sweep
	first.Send(t, "go")
	if got := first.Expect(t, "swept"); got != "swept sessions=0 renewed=1 errors=0" {
		t.Errorf("first sweep: %s, want the record put back", got)
	}
	first.Finish(t)
	var r result
	select {
	case r = <-done:
	case <-time.After(proctest.Deadline):
		t.Fatal("the second sweep did not end once the first had")
	}
	// It moved the fresh record (its name's file since its scan) aside
	// in its turn, and put it back.
	if r.err != nil || r.st.Sessions != 0 || r.st.SkippedRenewed != 1 || r.st.Errors != 0 {
		t.Errorf("second sweep: %+v, %v; want nothing removed, the record put back", r.st, r.err)
	}
	checkEnded(t, s, id, "fresh")
}
