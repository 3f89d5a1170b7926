package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestOwnFilesNotForeign: every file the store and sessgc's fleet locks
// make at the store's top and in its lock directory, on either lock
// strategy, is the store's to Stats and to a sweep (dry run or not): none
// counted foreign, none passed to OnForeign. Each long operation is held
// at its point of most files (a rekey at a record near its expiry, which
// holds the rekey lock, the record's stripe's and the sweep lock; a
// sweep moving a record aside; a raise of the marker's max idle, under
// the marker lock), with both fleet locks held, and another store looks
// at the directory then: so the check follows the files a store makes,
// not a list of them, and a new one is judged as it appears. The lease
// strategy's lease files (rekey.lease, sweep.lease, marker.lease, a
// stripe's) are among them; the names seen are logged.
func TestOwnFilesNotForeign(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, at := range []string{"rekey", "sweep", "marker"} {
			t.Run(strategy.String()+"/"+at, func(t *testing.T) {
				testOwnFilesNotForeign(t, strategy, at)
			})
		}
	}
}

func testOwnFilesNotForeign(t *testing.T, strategy lock.Strategy, at string) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	withStrategy := fsstore.WithLockStrategy(strategy)
	app := openDir(t, dir, fsstore.WithKeys(k1), withStrategy, fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
	switch at {
	case "rekey":
		// Within a minute of its expiry: rewritten under the sweep lock.
		near := time.Now().Add(-time.Hour + 30*time.Second)
		must(t, os.Chtimes(app.RecordPathForTest(id), near, near))
	case "sweep":
		long := time.Now().Add(-48 * time.Hour)
		must(t, os.Chtimes(app.RecordPathForTest(id), long, long))
	}
	for _, name := range []string{"sessgc", "sessgc-rekey"} {
		h, err := app.TryLockFleet(name)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Unlock()
	}
	// The looker's keys are the store's, so that none of it is unknown.
	looker := openDir(t, dir, fsstore.WithKeys(k2, k1), withStrategy, fsstore.WithIdleTimeout(time.Hour))

	var (
		once   sync.Once
		looked bool
	)
	look := func(string) {
		once.Do(func() {
			looked = true
			var seen []string
			for _, d := range []string{dir, filepath.Join(dir, fsstore.LockDir)} {
				ents, err := os.ReadDir(d)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					rel, _ := filepath.Rel(dir, filepath.Join(d, e.Name()))
					seen = append(seen, rel)
				}
			}
			t.Logf("the store's files at its top and in %s: %v", fsstore.LockDir, seen)
			st, err := looker.Stats(ctx, fsstore.StatsOptions{})
			if err != nil || st.Foreign != 0 {
				t.Errorf("Stats while the %s runs: %+v, %v; want nothing foreign (the files: %v)", at, st, err, seen)
			}
			var foreign []string
			if _, err := looker.Sweep(ctx, fsstore.SweepOptions{DryRun: true, OnForeign: func(p string) { foreign = append(foreign, p) }}); err != nil || len(foreign) != 0 {
				slices.Sort(foreign)
				t.Errorf("a dry run of the sweep while the %s runs: %v; foreign %v, want none", at, err, foreign)
			}
		})
	}
	switch at {
	case "rekey":
		rk := openDir(t, dir, fsstore.WithKeys(k2, k1), withStrategy, fsstore.WithIdleTimeout(time.Hour))
		rk.SetRekeyReadHookForTest(look)
		if st, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 {
			t.Fatalf("Rekey: %+v, %v; want the record rewritten", st, err)
		}
	case "sweep":
		sw := openDir(t, dir, fsstore.WithKeys(k1), withStrategy, fsstore.WithIdleTimeout(time.Hour))
		sw.SetSweepHooksForTest(nil, look, nil)
		if st, err := sw.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Sessions != 1 {
			t.Fatalf("Sweep: %+v, %v; want the record removed", st, err)
		}
	case "marker":
		// A session's own idle timeout longer than any before raises
		// the marker's.
		app.SetMarkerUnlockHookForTest(look)
		must(t, app.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("y"), Idle: 2 * time.Hour}))
	}
	if !looked {
		t.Fatalf("the %s never reached its hold point", at)
	}
}
