//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// TestRekeyWaitingForSessionLetsSweepsRun: a rekey waiting for the lock
// of a session a request holds, its record expired or about to, holds no
// sweep lock meanwhile, or every sweep of the fleet waits for as long as
// the request holds the session (a handler holding it through a long
// poll). The rekey tries the sweep lock once it has the session's.
//
// Each sweep takes the sweep lock and removes another expired record; it
// fails only while the rekey holds the lock, at a deadline that bounds
// that wait.
func TestRekeyWaitingForSessionLetsSweepsRun(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	app := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Hour))
	held, other := newID(t), newID(t)
	for _, id := range []string{held, other} {
		must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id)}))
	}
	// held: expired 30 s ago, within the rekey's Grace and the sweep's;
	// other: idle for longer than the marker's max idle plus Grace.
	now := time.Now()
	at := now.Add(-time.Hour - 30*time.Second)
	must(t, os.Chtimes(app.RecordPathForTest(held), at, at))
	at = now.Add(-3 * time.Hour)
	must(t, os.Chtimes(app.RecordPathForTest(other), at, at))
	openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour)).Close()

	lk, err := app.Lock(ctx, held, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	rk := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute))
	gc := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute))
	listed := make(chan struct{}, 2)
	rk.SetRekeyListedHookForTest(func(string) {
		select {
		case listed <- struct{}{}:
		default:
		}
	})
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := rk.Rekey(rctx, fsstore.RekeyOptions{Grace: time.Hour})
		done <- err
	}()
	<-listed
	var sweepErr error
	for i := 0; i < 3 && sweepErr == nil; i++ {
		// The deadline only ends a sweep the rekey holds off, the
		// failure: a slow machine's sweep finishes inside it.
		sctx, cancel := context.WithTimeout(ctx, proctest.Deadline)
		_, sweepErr = gc.Sweep(sctx, fsstore.SweepOptions{Grace: time.Minute})
		cancel()
	}
	must(t, lk.Unlock())
	rcancel()
	<-done
	if sweepErr != nil {
		t.Fatalf("a sweep while the rekey waited for a session a request held: %v", sweepErr)
	}
	if exists(t, app.RecordPathForTest(other)) {
		t.Fatal("the sweeps did not remove the record idle for 3 hours")
	}
}
