//go:build unix

package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A sweep judges records by the marker's max idle. A process that raises
// it (one with a longer WithIdleTimeout, or a session with a longer Idle
// of its own) and then saves a record relying on it may do so after the
// sweep started; a sweep that runs longer than the old max idle (paced by
// Rate over a large store, or held up by a file server that stopped
// answering) reaches that record once it is older than the old value, and
// must judge it by the new one. The record here keeps its session a day,
// and is two hours idle when the sweep gets to it.
//
// The record is saved once the sweep has listed one shard directory, in
// another it has not listed yet, so that the sweep reaches it after the
// raise whatever order it walks the shards in.
func TestSweepRereadsMarkerRaisedWhileItRuns(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(t *testing.T, dir string, clock *fakeclock.Clock) (*fsstore.Store, *fsstore.Session)
	}{
		{"process with a longer idle timeout", func(t *testing.T, dir string, clock *fakeclock.Clock) (*fsstore.Store, *fsstore.Session) {
			app := openDir(t, dir, fsstore.WithIdleTimeout(24*time.Hour), fsstore.WithClock(clock.Now))
			return app, &fsstore.Session{Data: []byte("day")}
		}},
		{"session with a longer idle of its own", func(t *testing.T, dir string, clock *fakeclock.Clock) (*fsstore.Store, *fsstore.Session) {
			app := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
			return app, &fsstore.Session{Data: []byte("day"), Idle: 24 * time.Hour}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			dir := t.TempDir()
			gc := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
			// The sweep goes on for two hours.
			m := saveMidScan(t, gc, func() (*fsstore.Store, *fsstore.Session) { return tc.open(t, dir, clock) }, clock, 2*time.Hour)
			st, err := gc.Sweep(ctx, fsstore.SweepOptions{})
			gc.SetSweepRelistHookForTest(nil)
			if err != nil || st.Errors != 0 {
				t.Fatalf("sweep: %+v, %v", st, err)
			}
			app, id := m.saved(t)
			if st.Sessions != 0 || !exists(t, app.RecordPathForTest(id)) {
				t.Fatalf("the sweep removed a session saved 2h ago with a day's idle timeout, judged by the marker's "+
					"max idle when the sweep started (1h): %+v", st)
			}
			mustLoad(t, app, id, "day")
			// Past the record's own expiry it goes.
			clock.Advance(23 * time.Hour)
			if st, err = gc.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Sessions != 1 {
				t.Fatalf("a sweep past the record's own expiry: %+v, %v; want it removed", st, err)
			}
		})
	}
}

// midScan is a session another store saves while gc lists its shard
// directories (a sweep, or Stats): see saveMidScan.
type midScan struct {
	app *fsstore.Store
	id  string
}

// saveMidScan makes two of gc's shard directories, empty, and has gc's
// next scan, as it lists the first, open a store and a session (open),
// save the session under an ID in the other, not listed yet (so the scan
// reaches it after the save whatever order it walks the shards in), and
// advance clock by d, the time the scan then goes on for. Unset gc's
// relist hook once the scan returns.
func saveMidScan(t *testing.T, gc *fsstore.Store, open func() (*fsstore.Store, *fsstore.Session), clock *fakeclock.Clock, d time.Duration) *midScan {
	t.Helper()
	shards := map[string]bool{}
	for len(shards) < 2 {
		shards[filepath.Dir(gc.RecordPathForTest(newID(t)))] = true
	}
	for sd := range shards {
		if err := os.MkdirAll(sd, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m := &midScan{}
	var once sync.Once
	gc.SetSweepRelistHookForTest(func(listed string) []fs.DirEntry {
		once.Do(func() {
			app, sess := open()
			for sess.ID = newID(t); !shards[filepath.Dir(app.RecordPathForTest(sess.ID))] ||
				filepath.Dir(app.RecordPathForTest(sess.ID)) == listed; sess.ID = newID(t) {
			}
			if err := app.Save(context.Background(), sess); err != nil {
				t.Error(err)
			}
			m.app, m.id = app, sess.ID
			clock.Advance(d)
		})
		return nil
	})
	return m
}

// saved returns the store that saved the session and its ID, once the
// scan ran; it fails t if the scan listed no shard directory.
func (m *midScan) saved(t *testing.T) (*fsstore.Store, string) {
	t.Helper()
	if m.app == nil {
		t.Fatal("the scan listed no shard directory")
	}
	return m.app, m.id
}

// A Touch without the lock, from a process that has not read the session
// (no header remembered), on a host whose clock lags the sweep's by more
// than Grace, so that it still finds the session live: landing while the
// sweep holds the record aside, it reaches the copy aside, and the sweep,
// which checks the mtime after the move, puts the record back.
func TestSweepKeepsRecordTouchedAsideByLaggingHost(t *testing.T) {
	ctx := context.Background()
	const (
		idle = time.Hour
		skew = 5 * time.Minute // the sweep's clock leads the writers'
	)
	clock := fakeclock.New()
	dir := t.TempDir()
	w := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(idle), fsstore.WithClock(clock.Now))
	gc := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Second),
		fsstore.WithClock(func() time.Time { return clock.Now().Add(skew) }))
	id := newID(t)
	if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(idle - time.Minute)
	p := w.RecordPathForTest(id)
	touched := 0
	gc.SetSweepHooksForTest(nil, nil, func(path string) {
		if path != p {
			return
		}
		// Another process of the writers' hosts: nothing remembered.
		other := openDir(t, dir, fsstore.WithIdleTimeout(idle), fsstore.WithClock(clock.Now))
		if err := other.Touch(ctx, id); err != nil {
			t.Errorf("Touch while the sweep holds the record aside: %v", err)
		}
		touched++
	})
	st, err := gc.Sweep(ctx, fsstore.SweepOptions{})
	gc.SetSweepHooksForTest(nil, nil, nil)
	if err != nil || st.Errors != 0 || touched != 1 {
		t.Fatalf("sweep: %+v, %v; touched %d times", st, err, touched)
	}
	if st.Sessions != 0 || st.SkippedRenewed != 1 || !exists(t, p) {
		t.Fatalf("sweep %+v: want the record touched aside put back", st)
	}
	clock.Advance(idle - time.Minute) // live by the Touch alone
	mustLoad(t, w, id, "x")
}
