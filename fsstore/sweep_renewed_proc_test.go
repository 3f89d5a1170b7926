//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// sweepPause is the "sweep-pause" helper: one sweep of the store at dir
// (sessgc's, another process than the requests') that stops at each of its
// steps for a record, says where ("at judged", the record judged expired
// and not yet moved; "at moved", moved aside and not yet checked; "at
// link", found renewed and about to be linked back; "at remove", found as
// judged and about to be unlinked) and goes on when the parent says so.
// It ends with "swept sessions=<n> renewed=<n> temps=<n> errors=<n>".
func sweepPause(ctx context.Context, dir string) error {
	s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithIdleTimeout(time.Second))
	if err != nil {
		return err
	}
	defer s.Close()
	pause := func(stage string) func(string) {
		return func(string) {
			say("at %s", stage)
			stdinLines.Scan()
		}
	}
	linkBack := pause("link")
	s.SetSweepHooksForTest(func(oldpath, newpath string) error {
		linkBack(newpath)
		return os.Link(oldpath, newpath)
	}, pause("judged"), pause("moved"))
	s.SetSweepRemoveHookForTest(pause("remove"))
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	if err != nil {
		return err
	}
	say("swept sessions=%d renewed=%d temps=%d errors=%d", st.Sessions, st.SkippedRenewed, st.Temps, st.Errors)
	return nil
}

// TestSweepKeepsSessionRenewedByAnotherProcess: the sweep's safety without
// a session lock, across processes. A sweep in one process judges an
// expired record; another process (a request) saves the session, with or
// without its lock, or touches it (a host whose clock lags, so it still
// finds the session live), after the scan, while the record is aside, or
// right before the put-back's link. The session must survive the sweep
// with what the request wrote last, a Load between the sweep's steps must
// find it all along, and nothing may be left aside; a session the request
// deletes meanwhile must stay ended, to Loads and to later sweeps. Each step of the
// sweep is a real process's, stopped at its hooks; the in-process forms
// are TestSweepKeepsRecordRenewedAfterScan and TestSweepPutBackLosesToDelete.
func TestSweepKeepsSessionRenewedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	// A step is a request's, in this process (not the sweep's), on a
	// host whose clock lags half an hour behind: to it the record (an
	// hour idle, of an hour's timeout) is live, so that it loads, touches
	// and saves the session the sweep judged expired, and what it writes
	// is half an hour from expiring by the sweep's clock (with a fake
	// clock the store stamps file times itself). It returns the payload
	// it saved, gone for a Delete, "" for neither.
	type step func(t *testing.T, s *fsstore.Store, id string) string
	const gone = "\x00gone"
	del := func(t *testing.T, s *fsstore.Store, id string) string {
		if err := s.Delete(ctx, id); err != nil {
			t.Errorf("Delete: %v", err)
		}
		return gone
	}
	lockedDel := func(t *testing.T, s *fsstore.Store, id string) string {
		l, err := s.Lock(noHang(t), id, fsstore.Exclusive)
		if err != nil {
			t.Errorf("Lock: %v", err)
			return ""
		}
		defer l.Unlock()
		if err := l.Delete(ctx); err != nil {
			t.Errorf("Locked.Delete: %v", err)
		}
		return gone
	}
	save := func(data string) step {
		return func(t *testing.T, s *fsstore.Store, id string) string {
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
				t.Errorf("Save: %v", err)
			}
			return data
		}
	}
	lockedSave := func(data string) step {
		return func(t *testing.T, s *fsstore.Store, id string) string {
			l, err := s.Lock(noHang(t), id, fsstore.Exclusive)
			if err != nil {
				t.Errorf("Lock: %v", err)
				return ""
			}
			defer l.Unlock()
			if _, err := l.Load(ctx); err != nil {
				t.Errorf("Locked.Load: %v", err)
			}
			if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
				t.Errorf("Locked.Save: %v", err)
			}
			return data
		}
	}
	touch := func(t *testing.T, s *fsstore.Store, id string) string {
		if err := s.Touch(ctx, id); err != nil {
			t.Errorf("Touch: %v", err)
		}
		return ""
	}
	lockedTouch := func(t *testing.T, s *fsstore.Store, id string) string {
		l, err := s.Lock(noHang(t), id, fsstore.Exclusive)
		if err != nil {
			t.Errorf("Lock: %v", err)
			return ""
		}
		defer l.Unlock()
		if _, err := l.Load(ctx); err != nil {
			t.Errorf("Locked.Load: %v", err)
		}
		if err := l.Touch(ctx); err != nil {
			t.Errorf("Locked.Touch: %v", err)
		}
		return ""
	}
	for _, tc := range []struct {
		name string
		// The request's steps where the sweep stands: "judged",
		// "moved", "link".
		at   map[string][]step
		want string // the session's payload after the sweep; "": ended
		// What the sweep's own steps say of the record: removed (the
		// expired file itself, once a newer one has the name), put back
		// (-1: not checked).
		sessions, renewed int64
	}{
		{"saved after the scan", map[string][]step{"judged": {save("fresh")}}, "fresh", 0, 1},
		{"saved under its lock after the scan", map[string][]step{"judged": {lockedSave("fresh")}}, "fresh", 0, 1},
		{"touched after the scan", map[string][]step{"judged": {touch}}, "old", 0, 1},
		{"touched under its lock after the scan", map[string][]step{"judged": {lockedTouch}}, "old", 0, 1},
		{"saved while aside", map[string][]step{"moved": {save("fresh")}}, "fresh", 1, 0},
		{"saved under its lock while aside", map[string][]step{"moved": {lockedSave("fresh")}}, "fresh", 1, 0},
		{"touched while aside", map[string][]step{"moved": {touch}}, "old", 0, 1},
		{"touched under its lock while aside", map[string][]step{"moved": {lockedTouch}}, "old", 0, 1},
		// A fresh record under the name is never clobbered by the
		// put-back: its link finds the name taken, and the older copy
		// aside goes as a superseded temp file.
		{"touched, then saved before the put-back", map[string][]step{"judged": {touch}, "link": {save("fresh")}}, "fresh", 0, 1},
		{"touched, then saved under its lock before the put-back", map[string][]step{"moved": {touch}, "link": {lockedSave("fresh")}}, "fresh", 0, 1},
		{"saved, then saved again before the put-back", map[string][]step{"judged": {save("fresh")}, "link": {save("fresher")}}, "fresher", 0, 1},
		// A live record an earlier sweep left aside (it died after its
		// move), which this sweep settles under the session's lock: only
		// an unlocked Save can come between its look and its put-back.
		{"left aside live, saved before the put-back", map[string][]step{"link": {save("fresh")}}, "fresh", 0, 0},
		// A session ended stays ended: the put-back of a record renewed
		// after the scan never brings back a session deleted meanwhile.
		{"touched, deleted while aside", map[string][]step{"judged": {touch}, "moved": {del}}, "", 0, -1},
		{"touched, deleted under its lock while aside", map[string][]step{"judged": {touch}, "moved": {lockedDel}}, "", 0, -1},
		{"touched, deleted before the put-back", map[string][]step{"judged": {touch}, "link": {del}}, "", 0, -1},
		{"touched, deleted under its lock before the put-back", map[string][]step{"moved": {touch}, "link": {lockedDel}}, "", 0, -1},
		{"saved, saved and deleted before the put-back", map[string][]step{"judged": {save("fresh")}, "link": {save("fresher"), del}}, "", 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, s, id, p := agedRecord(t)
			if strings.HasPrefix(tc.name, "left aside live") {
				aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
				if err := os.Rename(p, aside); err != nil {
					t.Fatal(err)
				}
				now := time.Now()
				if err := os.Chtimes(aside, now, now); err != nil {
					t.Fatal(err)
				}
			}
			req := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(func() time.Time { return time.Now().Add(-30 * time.Minute) }))
			sw := startChild(t, "sweep-pause", []string{"STORE_DIR=" + dir})
			current := "old"
			var stats string
			for stats == "" {
				line := sw.Expect(t, "")
				switch {
				case strings.HasPrefix(line, "swept "):
					stats = line
					continue
				case !strings.HasPrefix(line, "at "):
					t.Fatalf("sweep child said %q", line)
				}
				stage := strings.TrimPrefix(line, "at ")
				for _, f := range tc.at[stage] {
					if saved := f(t, req, id); saved != "" {
						current = saved
					}
				}
				// A Load that starts after the request's step returned
				// finds the session, wherever the sweep holds it.
				got, err := req.Load(ctx, id)
				switch {
				case current == gone && !errors.Is(err, fsstore.ErrNotFound):
					t.Errorf("Load with the sweep %s, after the Delete: %v, %v; want ErrNotFound", line, got, err)
				case current != gone && (err != nil || string(got.Data) != current):
					t.Errorf("Load with the sweep %s: %v, %v; want %q", line, got, err, current)
				}
				sw.Send(t, "go")
			}
			sw.Finish(t)
			want := fmt.Sprintf("swept sessions=%d renewed=%d ", tc.sessions, tc.renewed)
			if tc.renewed < 0 {
				want = fmt.Sprintf("swept sessions=%d renewed=", tc.sessions)
			}
			if !strings.HasPrefix(stats, want) || !strings.HasSuffix(stats, " errors=0") {
				t.Errorf("sweep: %s; want %s..., no errors", stats, want)
			}
			if tc.want == "" {
				checkEnded(t, s, id, "")
				return
			}
			if left := asides(t, dir); len(left) != 0 {
				t.Errorf("left aside: %v", left)
			}
			mustLoad(t, s, id, tc.want)
			// Renewed, it is live to the next sweep too.
			if st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond}); err != nil || st.Sessions != 0 {
				t.Errorf("the next sweep: %+v, %v; want the session kept", st, err)
			}
			mustLoad(t, s, id, tc.want)
		})
	}
}
