package fsstore_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// recordLog is a slog handler that keeps the records whose message is one
// of msgs, with their attributes.
type recordLog struct {
	msgs []string
	mu   *sync.Mutex
	got  *[]map[string]any
}

func newRecordLog(msgs ...string) recordLog {
	return recordLog{msgs: msgs, mu: new(sync.Mutex), got: new([]map[string]any)}
}

func (h recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (h recordLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordLog) WithGroup(string) slog.Handler            { return h }
func (h recordLog) Handle(_ context.Context, r slog.Record) error {
	for _, m := range h.msgs {
		if r.Message != m {
			continue
		}
		a := map[string]any{"msg": r.Message}
		r.Attrs(func(at slog.Attr) bool { a[at.Key] = at.Value.Any(); return true })
		h.mu.Lock()
		*h.got = append(*h.got, a)
		h.mu.Unlock()
	}
	return nil
}

func (h recordLog) records() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), *h.got...)
}

const (
	panickedMsg   = "callback panicked on a goroutine of the session store's own; recovered, the store goes on"
	suppressedMsg = "callback panics recovered on the session store's goroutines and not logged since the last such record"
)

// sweepPanics is an Observer whose Observe panics at every sweep removal.
type sweepPanics struct{}

func (sweepPanics) Observe(e fsstore.Event) {
	if e.Op == fsstore.OpSweepRemove {
		panic("observer broken")
	}
}

// TestCallbackPanicLogLimited: an Observer that always panics (here at
// sweep removals alone: elsewhere its panic goes up to the caller) panics
// once per file a sweep removes, on the sweep's workers, where the store
// recovers and logs it. A record with a stack for each flooded the log:
// the first is logged with its stack, then one a minute at most with the
// number not logged since the one before, and Close logs the number not
// logged since the last.
func TestCallbackPanicLogLimited(t *testing.T) {
	const files = 30
	for _, tc := range []struct {
		name string
		// sweeps: the minutes of the panic log's clock each sweep runs
		// at, from 0.
		sweeps []time.Duration
		// want: the suppressed count of each record of a panic logged,
		// and that of Close's record (0: none).
		want      []int
		wantClose int
	}{
		{"one sweep", []time.Duration{0}, []int{0}, files - 1},
		{"two sweeps within a minute", []time.Duration{0, 30 * time.Second}, []int{0}, 2*files - 1},
		{"a sweep a minute later", []time.Duration{0, time.Minute}, []int{0, files - 1}, files - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			log := newRecordLog(panickedMsg, suppressedMsg)
			s, err := fsstore.Open(t.TempDir(), fsstore.WithIdleTimeout(time.Minute), fsstore.WithObserver(sweepPanics{}), fsstore.WithLogger(slog.New(log)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			clk := fakeclock.New()
			s.SetPanicLogClockForTest(clk.Now)
			start := clk.Now()
			for _, at := range tc.sweeps {
				clk.Advance(start.Add(at).Sub(clk.Now()))
				old := time.Now().Add(-48 * time.Hour)
				for range files {
					id := newID(t)
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
						t.Fatal(err)
					}
					if err := os.Chtimes(s.RecordPathForTest(id), old, old); err != nil {
						t.Fatal(err)
					}
				}
				if res, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 4}); err != nil || res.Removed() != files {
					t.Fatalf("Sweep: %+v, %v; want %d removed", res, err, files)
				}
			}
			var got []int
			for _, r := range log.records() {
				if r["msg"] != panickedMsg {
					t.Fatalf("before Close: %v", r)
				}
				if r["stack"] == nil {
					t.Errorf("a logged panic without its stack: %v", r)
				}
				n, _ := r["suppressed"].(int64)
				got = append(got, int(n))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d panics logged (suppressed counts %v) for %d sweeps of %d files; want %d (%v)", len(got), got, len(tc.sweeps), files, len(tc.want), tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("record %d: suppressed %d, want %d", i, got[i], tc.want[i])
				}
			}
			s.Close()
			recs := log.records()[len(got):]
			switch {
			case tc.wantClose == 0 && len(recs) != 0:
				t.Errorf("Close logged %v, want nothing", recs)
			case tc.wantClose != 0 && (len(recs) != 1 || recs[0]["msg"] != suppressedMsg || recs[0]["suppressed"] != int64(tc.wantClose)):
				t.Errorf("Close logged %v, want one record of %d suppressed", recs, tc.wantClose)
			}
		})
	}
}

// TestCallbackPanicAfterCloseLogged: a write given up on may end after
// Close (see Store.Close), and its report may panic then. Close had logged
// the suppressed count already, and nothing logs one later: a panic after
// Close within a minute of the callback's last record went unlogged, the
// limit's "nothing lost, only counted" broken. Once closed, every panic
// the store recovers is logged: their number is bounded by the operations
// Close left in flight.
func TestCallbackPanicAfterCloseLogged(t *testing.T) {
	obs := &panicObserver{when: func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
		return call == "Observe" && e.Late
	}}
	f := newBoundFixture(t, fsstore.WithObserver(obs))
	clk := fakeclock.New() // stands still: every panic within the minute
	f.s.SetPanicLogClockForTest(clk.Now)
	id := newID(t)
	mustSave(t, f.s, id, "v1")
	// A late save before Close: its panic is the callback's first, logged.
	release := f.giveUp(t, "commit", func(ctx context.Context) error {
		return f.s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v2")})
	})
	release()
	f.settle(t)
	if n := obs.panicked(); n != 1 {
		t.Fatalf("the observer panicked %d times, want 1", n)
	}
	// A late save after Close.
	release = f.giveUp(t, "commit", func(ctx context.Context) error {
		return f.s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v3")})
	})
	defer release()
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	release()
	f.settle(t)
	if n := obs.panicked(); n != 2 {
		t.Fatalf("the observer panicked %d times, want 2", n)
	}
	if n := strings.Count(f.log.String(), "callback panicked"); n != 2 {
		t.Errorf("%d panics logged, want both: the one after Close too\n%s", n, f.log.String())
	}
}

// TestCallbackPanicLogPerSource: the limit of the panic log holds each
// callback's panics from each source of the store's apart. Observe is
// called on the store's goroutines by a sweep's removals, a late write's
// end and a keys reload; limited as one, a sweep's panics (one per file
// removed) held back the first panic of a late write, which may have
// another cause, for up to a minute.
func TestCallbackPanicLogPerSource(t *testing.T) {
	ctx := context.Background()
	obs := &panicObserver{when: func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
		return call == "Observe" && (e.Late || e.Op == fsstore.OpSweepRemove)
	}}
	f := newBoundFixture(t, fsstore.WithObserver(obs))
	clk := fakeclock.New() // stands still: every panic within the minute
	f.s.SetPanicLogClockForTest(clk.Now)
	old := time.Now().Add(-48 * time.Hour)
	for range 3 {
		id := newID(t)
		mustSave(t, f.s, id, "x")
		if err := os.Chtimes(f.s.RecordPathForTest(id), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := f.s.Sweep(ctx, fsstore.SweepOptions{}); err != nil || res.Removed() != 3 {
		t.Fatalf("Sweep: %+v, %v; want 3 removed", res, err)
	}
	id := newID(t)
	release := f.giveUp(t, "commit", func(ctx context.Context) error {
		return f.s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("late")})
	})
	release()
	f.settle(t)
	if n := obs.panicked(); n != 4 {
		t.Fatalf("the observer panicked %d times, want 4 (3 removals, 1 late save)", n)
	}
	logged := strings.Count(f.log.String(), "callback panicked")
	if logged != 2 || !strings.Contains(f.log.String(), "source=sweep") || !strings.Contains(f.log.String(), `source="late end"`) {
		t.Errorf("%d panics logged, want 2: the sweep's first and the late save's\n%s", logged, f.log.String())
	}
}
