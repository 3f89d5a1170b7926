//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// setMarkerIdle rewrites the marker's max idle, as an operator lowering it
// by hand would.
func setMarkerIdle(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	p := filepath.Join(dir, fsstore.MarkerFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`(?m)^max-idle-seconds \d+$`).ReplaceAll(b, []byte("max-idle-seconds "+strconv.Itoa(int(d/time.Second))))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func markerIdle(t *testing.T, dir string) time.Duration {
	t.Helper()
	_, _, d, err := fsstore.ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A record carries its own idle timeout: every process, whatever its own
// WithIdleTimeout, expires it by that, and the sweep keeps it until then.
func TestRecordIdle(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		storeIdle   time.Duration // the writer's WithIdleTimeout
		recordIdle  time.Duration // Session.Idle (0: the store's)
		readerIdle  time.Duration // another process's WithIdleTimeout
		want        time.Duration // the idle the record carries
		liveAt, gon time.Duration // still live after liveAt, gone after gon
	}{
		{"longer than the store's", time.Hour, 2 * time.Hour, time.Second, 2 * time.Hour, 90 * time.Minute, 2*time.Hour + 2*time.Minute},
		{"shorter than the store's", 2 * time.Hour, 2 * time.Second, 3 * time.Hour, 2 * time.Second, time.Second, 3 * time.Second},
		{"the store's", time.Hour, 0, 5 * time.Hour, time.Hour, 59 * time.Minute, 62 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			dir := t.TempDir()
			w := openDir(t, dir, fsstore.WithIdleTimeout(tc.storeIdle), fsstore.WithLifetime(0), fsstore.WithClock(clock.Now))
			r := openDir(t, dir, fsstore.WithIdleTimeout(tc.readerIdle), fsstore.WithLifetime(0), fsstore.WithClock(clock.Now))
			id := newID(t)
			sess := &fsstore.Session{ID: id, Data: []byte("v"), Idle: tc.recordIdle}
			if err := w.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			if sess.Idle != tc.want || !sess.Expires.Equal(clock.Now().Add(tc.want)) {
				t.Errorf("after Save: Idle %v, Expires in %v; want %v", sess.Idle, sess.Expires.Sub(clock.Now()), tc.want)
			}
			if m := markerIdle(t, dir); m < tc.want {
				t.Errorf("marker's max idle %v is below the record's %v", m, tc.want)
			}
			clock.Advance(tc.liveAt)
			for _, s := range []*fsstore.Store{w, r} {
				got, err := s.Load(ctx, id)
				if err != nil {
					t.Fatalf("Load after %v: %v, want live", tc.liveAt, err)
				}
				if got.Idle != tc.want {
					t.Errorf("Load reports Idle %v, want %v", got.Idle, tc.want)
				}
			}
			if st, err := r.Sweep(ctx, fsstore.SweepOptions{Grace: time.Second}); err != nil || st.Sessions != 0 {
				t.Fatalf("sweep after %v removed %d sessions (%v), want 0", tc.liveAt, st.Sessions, err)
			}
			clock.Advance(tc.gon - tc.liveAt)
			for _, s := range []*fsstore.Store{w, r} {
				if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
					t.Fatalf("Load after %v: %v, want ErrExpired", tc.gon, err)
				}
			}
		})
	}
}

// A Save whose idle timeout exceeds the marker's raises the marker first,
// but only as far as the session can live: a deadline cuts it.
func TestSaveRaisesMarker(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
	steps := []struct {
		idle     time.Duration
		deadline time.Duration // from now; 0: the store's lifetime (24h)
		want     time.Duration
	}{
		{30 * time.Minute, 0, time.Hour},                      // covered already
		{5 * time.Hour, 0, 5 * time.Hour},                     // raised
		{90*time.Minute + time.Millisecond, 0, 5 * time.Hour}, // never lowered
		{30 * 24 * time.Hour, 0, 24 * time.Hour},              // cut to the lifetime
		{30 * 24 * time.Hour, 48 * time.Hour, 48 * time.Hour},
		{5*time.Hour + 1, 7 * 24 * time.Hour, 48 * time.Hour}, // rounded up to whole seconds, still covered
	}
	for _, st := range steps {
		sess := &fsstore.Session{ID: newID(t), Data: []byte("v"), Idle: st.idle}
		if st.deadline != 0 {
			sess.Deadline = clock.Now().Add(st.deadline)
		}
		if err := s.Save(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if got := markerIdle(t, dir); got != st.want {
			t.Errorf("after a save with idle %v, deadline in %v: marker %v, want %v", st.idle, st.deadline, got, st.want)
		}
	}
}

// Idle timeouts outside 1s..MaxIdleTimeout are refused, by Open and by
// Save, and nothing is written.
func TestInvalidIdle(t *testing.T) {
	ctx := context.Background()
	for _, d := range []time.Duration{-time.Second, time.Millisecond, 999 * time.Millisecond, fsstore.MaxIdleTimeout + time.Second} {
		if _, err := fsstore.Open(t.TempDir(), fsstore.WithIdleTimeout(d)); err == nil {
			t.Errorf("Open with idle timeout %v succeeded", d)
		}
		dir := t.TempDir()
		s := openDir(t, dir)
		sess := &fsstore.Session{ID: newID(t), Data: []byte("v"), Idle: d}
		if err := s.Save(ctx, sess); !errors.Is(err, fsstore.ErrInvalidIdle) {
			t.Errorf("Save with Idle %v: %v, want ErrInvalidIdle", d, err)
		}
		if err := s.CompareAndSwap(ctx, sess); !errors.Is(err, fsstore.ErrInvalidIdle) {
			t.Errorf("CompareAndSwap with Idle %v: %v, want ErrInvalidIdle", d, err)
		}
		if exists(t, s.RecordPathForTest(sess.ID)) {
			t.Errorf("Save with Idle %v wrote a record", d)
		}
		if m := markerIdle(t, dir); m != 24*time.Minute {
			t.Errorf("Save with Idle %v left the marker at %v", d, m)
		}
	}
}

// The sweep never removes a record before its own expiry, even when the
// marker says less: lowered by hand while records with a longer idle
// timeout exist, or a raise lost to a host cut off mid-write.
func TestSweepKeepsRecordPastLoweredMarker(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	w := openDir(t, dir, fsstore.WithIdleTimeout(2*time.Hour), fsstore.WithClock(clock.Now))
	id := newID(t)
	if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	setMarkerIdle(t, dir, time.Hour)
	// A sweeper that uses no idle of its own, as sessgc opens the store.
	gc := openDir(t, dir, fsstore.WithIdleTimeout(time.Second), fsstore.WithClock(clock.Now))
	clock.Advance(90 * time.Minute)
	st, err := gc.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 0 || !exists(t, w.RecordPathForTest(id)) {
		t.Fatalf("the sweep removed a session 90m idle whose own idle timeout is 2h (stats %+v)", st)
	}
	// Kept by its header, not its directory entry: counted live all the
	// same, with its size.
	if fi, err := os.Stat(w.RecordPathForTest(id)); err != nil || st.Live != 1 || st.LiveBytes != fi.Size() {
		t.Errorf("sweep: Live %d, LiveBytes %d; want 1 and the record's size (%v)", st.Live, st.LiveBytes, err)
	}
	mustLoad(t, w, id, "v")
	clock.Advance(32 * time.Minute)
	if st, err = gc.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Sessions != 1 {
		t.Fatalf("sweep past the record's own expiry removed %d sessions (%v), want 1", st.Sessions, err)
	}
}

// An operator who lowers the marker's max idle and its largest value ever
// (docs/design.md, "The marker's max idle": "Lowering") makes the new value
// apply to records written with the longer timeout too: the sweep removes
// such a record once idle past the lowered value plus Grace, by its mtime
// alone, though its own header says it is live. With the largest value
// ever left as it was, the same sweep keeps it (TestSweepKeepsRecordPastLoweredMarker).
func TestSweepLoweredEverAppliesToLongerRecords(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lowerEver     bool
		wantRemoved   int64
		wantRemaining bool
	}{
		{"max idle lowered", false, 0, true},
		{"max idle and largest ever lowered", true, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clock := fakeclock.New()
			dir := t.TempDir()
			w := openDir(t, dir, fsstore.WithIdleTimeout(2*time.Hour), fsstore.WithClock(clock.Now))
			id := newID(t)
			if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
				t.Fatal(err)
			}
			setMarkerIdle(t, dir, time.Hour)
			if tc.lowerEver {
				p := filepath.Join(dir, fsstore.MarkerFile)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b = regexp.MustCompile(`(?m)^max-idle-ever-seconds \d+$`).ReplaceAll(b, []byte("max-idle-ever-seconds 3600"))
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			gc := openDir(t, dir, fsstore.WithIdleTimeout(time.Second), fsstore.WithClock(clock.Now))
			clock.Advance(90 * time.Minute)
			st, err := gc.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Sessions != tc.wantRemoved || exists(t, w.RecordPathForTest(id)) != tc.wantRemaining {
				t.Fatalf("sweep of a record 90m idle, of a 2h timeout, under a marker lowered to 1h: %+v, %v; want %d removed", st, err, tc.wantRemoved)
			}
		})
	}
}

// A process that finds the marker below an idle timeout it uses puts it
// back when it sweeps.
func TestSweepRestoresLoweredMarker(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(2*time.Hour))
	setMarkerIdle(t, dir, time.Hour)
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := markerIdle(t, dir); got != 2*time.Hour {
		t.Fatalf("marker %v after a sweep by a process using 2h, want 2h", got)
	}
}
