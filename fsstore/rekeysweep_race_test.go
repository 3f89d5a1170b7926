//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRekeyAndSweepAtOnce runs a rekey and a sweep of one store at the
// same time, each its own Store as sessgc rekey and sessgc run are, over
// records that both want: the rekey rewrites a record expired by less
// than its Grace, and the sweep removes one expired by more than its own.
// Neither may undo the other: a record the sweep reports removed must be
// gone afterwards (a rekey that renamed its rewrite after the removal
// would bring it back), a record it does not report removed must still be
// there (a removal of the rekey's rewrite, or a put-back over it, would
// lose it or leave it under the old key after the rekey counted it), and
// every live record must load, under the newest key.
//
// Three kinds of records: live ones (idle timeout 2h, idle 10 minutes);
// ones expired by their own idle timeout (1 minute, idle 10 minutes)
// while the marker's max idle, lowered to 5 minutes by an operator, is
// below their age and the largest it ever held (2h) above it, which the
// sweep removes under the session's lock after reading the header; and
// ones idle longer than the largest max idle the marker ever held plus
// the sweep's Grace, which the sweep removes without a lock, judged by
// their mtime alone. The rekey's Grace (1h) is longer than the sweep's
// (1 minute), so that it rewrites the expired ones too (sessgc's docs ask
// for the same grace; a longer one is the case where both act, and with
// the same one a record that expires during its rewrite).
//
// The stripe lock serializes the second kind. The third's removal takes
// no session's lock: a rekey whose rename came after the sweep's move
// aside and unlink brought back a record the sweep reported removed, in
// one round of two, until the rewrite of a record expired or about to
// took the sweep lock.
//
// Many rounds, each from scratch; bounded by the round count, not time.
func TestRekeyAndSweepAtOnce(t *testing.T) {
	rounds, perKind := 20, 48
	if testing.Short() {
		rounds = 4
	}
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for round := 0; round < rounds; round++ {
		dir := t.TempDir()
		long := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(2*time.Hour))
		short := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Minute))
		now := time.Now()
		kinds := map[string][]string{} // kind: session IDs
		saveIdle := func(kind string, s *fsstore.Store, idle time.Duration) {
			for i := 0; i < perKind; i++ {
				id := newID(t)
				must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id)}))
				at := now.Add(-idle)
				must(t, os.Chtimes(s.RecordPathForTest(id), at, at))
				kinds[kind] = append(kinds[kind], id)
			}
		}
		saveIdle("live", long, 10*time.Minute)
		saveIdle("expired, judged under its lock", short, 10*time.Minute)
		saveIdle("expired, judged by its mtime", long, 2*time.Hour+10*time.Minute)
		// The application hosts move to key 2 before the rekey.
		openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Minute)).Close()
		setMarkerIdle(t, dir, 5*time.Minute)
		// Opened with an idle timeout below the marker's, as sessgc
		// opens a store: the default would raise it.
		rk := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute))
		gc := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute))
		// Between the rekey's last look at the record and its rename,
		// the other goroutines run: the window a lock must close, a
		// few system calls wide, is left to the scheduler otherwise,
		// and hundreds of rounds passed without meeting it.
		rk.SetRekeyCheckedHookForTest(func(string) {
			for i := 0; i < 20; i++ {
				runtime.Gosched()
			}
		})

		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			removed  = map[string]bool{} // record paths the sweep reports removed
			rst      fsstore.RekeyStats
			sst      fsstore.SweepStats
			rerr     error
			serr     error
			start    = make(chan struct{})
			failures []error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			rst, rerr = rk.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 4, Grace: time.Hour, OnError: func(err error) {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
			}})
		}()
		go func() {
			defer wg.Done()
			<-start
			sst, serr = gc.Sweep(ctx, fsstore.SweepOptions{Concurrency: 4, Grace: time.Minute, OnRemove: func(r fsstore.Removal) {
				if r.Kind == fsstore.KindSession {
					mu.Lock()
					removed[r.Path] = true
					mu.Unlock()
				}
			}})
		}()
		close(start)
		wg.Wait()
		if rerr != nil || serr != nil {
			t.Fatalf("round %d: rekey %+v, %v; sweep %+v, %v", round, rst, rerr, sst, serr)
		}
		for _, err := range failures {
			t.Logf("round %d: rekey: %v", round, err)
		}
		check := openDir(t, dir, fsstore.WithKeys(k2), fsstore.WithIdleTimeout(2*time.Hour))
		for kind, ids := range kinds {
			for _, id := range ids {
				p := rk.RecordPathForTest(id)
				there := exists(t, p)
				aside := exists(t, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p)))
				switch {
				case removed[p] && (there || aside):
					t.Errorf("round %d: %s record %s: the sweep reported it removed, and it is back (under its name %v, aside %v)", round, kind, id, there, aside)
				case !removed[p] && !there:
					t.Errorf("round %d: %s record %s: gone, and the sweep did not report removing it (aside %v)", round, kind, id, aside)
				case kind == "live":
					if got, err := check.Load(ctx, id); err != nil || string(got.Data) != id {
						t.Errorf("round %d: live record %s after the rekey and the sweep: %q, %v; want it under key 2", round, id, got.Data, err)
					}
				}
			}
		}
		check.Close()
		rk.Close()
		gc.Close()
		long.Close()
		short.Close()
		if t.Failed() {
			t.Fatalf("round %d: rekey %+v; sweep %+v", round, rst, sst)
		}
	}
}
