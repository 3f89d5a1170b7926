//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// sweepHeldInChild makes a store under key 1 (idle timeout 1h) holding
// near records within a minute of their expiry, and one idle for 3 hours,
// which a sweep in a child process ("sweep-step") has moved aside when it
// returns: the child holds the store's sweep lock, and ends its sweep once
// sent "go". It returns the child, the store's directory, the near
// records' IDs, a maintenance store rekeying to key 2, which the
// application hosts have made newest, and key 2.
func sweepHeldInChild(t *testing.T, near int) (sw *proctest.Child, dir string, ids []string, rk *fsstore.Store, k2 fsstore.Key) {
	t.Helper()
	ctx := context.Background()
	k1 := mustKey(t, 1)
	k2 = mustKey(t, 2)
	dir = t.TempDir()
	app := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Hour))
	now := time.Now()
	for i := 0; i < near; i++ {
		id := newID(t)
		must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id)}))
		at := now.Add(-time.Hour + 30*time.Second)
		must(t, os.Chtimes(app.RecordPathForTest(id), at, at))
		ids = append(ids, id)
	}
	old := newID(t)
	must(t, app.Save(ctx, &fsstore.Session{ID: old, Data: []byte(old)}))
	at := now.Add(-3 * time.Hour)
	must(t, os.Chtimes(app.RecordPathForTest(old), at, at))
	openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour)).Close()

	sw = startChild(t, "sweep-step", []string{"STORE_DIR=" + dir, "STORE_MAINTENANCE=1"})
	sw.Expect(t, "judged")
	sw.Send(t, "go")
	sw.Expect(t, "moved")
	rk = openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute))
	return sw, dir, ids, rk, k2
}

// TestRekeyWaitsForSweepInAnotherProcess: a record within a minute of its
// expiry is rewritten under the sweep lock, which a rekey only tries (it
// holds the record's stripe lock, below it in the lock order). A sweep in
// another process holds it: the rekey waits for that sweep's end, holding
// nothing, and then rewrites every such record, once, with no error. The
// wait comes before any rewrite, and the sweep ends as it would have
// without the rekey.
func TestRekeyWaitsForSweepInAnotherProcess(t *testing.T) {
	sw, dir, ids, rk, k2 := sweepHeldInChild(t, 3)
	var (
		mu     sync.Mutex
		events []string
	)
	event := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	rk.SetRekeyAsideWaitHookForTest(func(string) {
		event("wait")
		sw.Send(t, "go") // the sweep may end now; its end lets the wait end
	})
	rk.SetRekeyCheckedHookForTest(func(string) { event("rewrite") })
	var errs []error
	st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) { errs = append(errs, err) }})
	if err != nil || st.Rekeyed != 3 || st.Errors != 0 {
		t.Fatalf("Rekey while another process's sweep held the sweep lock = %+v, %v (%v); want the 3 records near their expiry rewritten once it ended", st, err, errs)
	}
	if want := "wait rewrite rewrite rewrite"; strings.Join(events, " ") != want {
		t.Errorf("the rekey's steps: %v; want %s: one wait, for the sweep's end, before every rewrite", events, want)
	}
	sw.Expect(t, "swept sessions=1 renewed=0 errors=0")
	sw.Finish(t)
	retired := openDir(t, dir, fsstore.WithKeys(k2), fsstore.WithIdleTimeout(time.Hour))
	for _, id := range ids {
		if got, err := retired.Load(context.Background(), id); err != nil || string(got.Data) != id {
			t.Errorf("record %s under the new key alone: %q, %v", id, got.Data, err)
		}
	}
}

// TestRekeyWaitsForKilledSweep: a sweep holding the sweep lock killed
// (SIGKILL) while a rekey waits for its end frees the lock as its end
// would (with flock, at once: the kernel closes its descriptors), and
// the rekey rewrites every record near its expiry; the record the sweep
// left aside, expired, is left for the next sweep.
func TestRekeyWaitsForKilledSweep(t *testing.T) {
	sw, dir, ids, rk, k2 := sweepHeldInChild(t, 3)
	waits := 0
	rk.SetRekeyAsideWaitHookForTest(func(string) {
		if waits++; waits == 1 {
			sw.Kill(t)
		}
	})
	var errs []error
	st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) { errs = append(errs, err) }})
	if err != nil || st.Rekeyed != 3 || st.Errors != 0 || waits != 1 {
		t.Fatalf("Rekey while a sweep that held the sweep lock was killed = %+v, %v (%v), %d waits; want the 3 records near their expiry rewritten after one wait", st, err, errs, waits)
	}
	retired := openDir(t, dir, fsstore.WithKeys(k2), fsstore.WithIdleTimeout(time.Hour))
	for _, id := range ids {
		if got, err := retired.Load(context.Background(), id); err != nil || string(got.Data) != id {
			t.Errorf("record %s under the new key alone: %q, %v", id, got.Data, err)
		}
	}
}

// TestRekeyWaitsOncePerPassForASweep: a sweep in another process that
// outlasts the rekey's wait for its end fails the record that waited, and
// every later record that would wait for it fails at once, with the same
// reason, rather than after a wait of its own each: the pass waits once.
// Once the sweep has ended, the next pass rewrites them all.
func TestRekeyWaitsOncePerPassForASweep(t *testing.T) {
	sw, _, _, rk, _ := sweepHeldInChild(t, 3)
	rk.SetRekeyAsideWaitForTest(10 * time.Millisecond) // a minute otherwise; the sweep outlasts either
	waits := 0
	rk.SetRekeyAsideWaitHookForTest(func(string) { waits++ })
	var errs []error
	st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) { errs = append(errs, err) }})
	if err != nil || st.Rekeyed != 0 || st.Errors != 3 || len(errs) != 3 {
		t.Fatalf("Rekey while another process's sweep held the sweep lock throughout = %+v, %v (%v); want the 3 records near their expiry failed", st, err, errs)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "a sweep is still running") || !strings.Contains(err.Error(), "rekey again once it has ended") || strings.Contains(err.Error(), ",,") {
			t.Errorf("error for a record left for after the sweep: %v; want it to say a sweep is still running, and to rekey again once it has ended, with no doubled comma", err)
		}
	}
	if waits != 1 {
		t.Errorf("the pass waited %d times for the sweep's end; want once", waits)
	}
	sw.Send(t, "go")
	sw.Expect(t, "swept sessions=1 renewed=0 errors=0")
	sw.Finish(t)
	waits = 0
	if st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 3 || st.Errors != 0 || waits != 0 {
		t.Fatalf("Rekey after the sweep ended = %+v, %v, %d waits; want the 3 records rewritten, no wait", st, err, waits)
	}
}

// TestRekeyWaitForSweepEndsAtClose: a Close of the store while its Rekey
// waits for another process's sweep to end (the once-per-pass wait,
// bounded by a minute) ends the pass there, with an error matching
// ErrClosed and nothing counted as failed: the wait is for the sweep
// lock, which the store's lock table gives up on at its close.
func TestRekeyWaitForSweepEndsAtClose(t *testing.T) {
	sw, _, _, rk, _ := sweepHeldInChild(t, 3)
	waiting := make(chan struct{})
	var once sync.Once
	rk.SetRekeyAsideWaitHookForTest(func(string) { once.Do(func() { close(waiting) }) })
	type result struct {
		st  fsstore.RekeyStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := rk.Rekey(context.Background(), fsstore.RekeyOptions{})
		done <- result{st, err}
	}()
	select {
	case <-waiting:
	case r := <-done:
		t.Fatalf("Rekey ended before it waited for the sweep: %+v, %v", r.st, r.err)
	}
	if !poll(func() bool {
		return inStack("(*Store).rekeyAfterSweep") && strings.Contains(stacks(), "lock.(*Table).acquire")
	}) {
		t.Fatal("the rekey never waited for the sweep lock")
	}
	must(t, rk.Close())
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Rekey waiting for a sweep did not return within 30 seconds of the store's close")
	}
	if !errors.Is(r.err, fsstore.ErrClosed) || r.st.Errors != 0 || r.st.Rekeyed != 0 {
		t.Errorf("Rekey of a store closed while it waited for a sweep = %+v, %v; want nothing rewritten, no errors, an error matching ErrClosed", r.st, r.err)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), rekeyStoppedByClose) {
		t.Errorf("Rekey of a store closed while it waited for a sweep: %v; want it to say %q", r.err, rekeyStoppedByClose)
	}
	sw.Send(t, "go")
	sw.Expect(t, "swept sessions=1 renewed=0 errors=0")
	sw.Finish(t)
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
