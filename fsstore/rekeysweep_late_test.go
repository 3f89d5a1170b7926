//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRekeyRecordExpiresWhileItWaits: a record a rekey first sees minutes
// from its expiry, so that it takes no sweep lock for it, may be expired
// by the time the rekey has its stripe's lock (a request held the
// session, or Rate held the worker), and a sweep may remove it by its
// mtime alone then, without the session's lock. The rewrite must not
// bring back what the sweep reported removed: the rekey judges again,
// under the stripe's lock, whether the record is expired or about to.
//
// The rekey's clock stands still up to its first look at the record and
// jumps ten minutes past it; the sweep runs between the rekey's last check
// and its rename (the window of TestRekeyAndSweepAtOnce), bounded by a
// context: a sweep the rekey's lock holds off waits for it, which is not
// a failure.
func TestRekeyRecordExpiresWhileItWaits(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	t0 := time.Now()
	app := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(2*time.Hour))
	id := newID(t)
	must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id)}))
	p := app.RecordPathForTest(id)
	// Its own expiry, and the largest max idle the marker held (2h),
	// five minutes after t0: the rekey's first look finds it live, and
	// not within a minute of its expiry.
	at := t0.Add(-2*time.Hour + 5*time.Minute)
	must(t, os.Chtimes(p, at, at))
	openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(2*time.Hour)).Close()

	var phase atomic.Int32 // 0: before the listing; 1: listed; 2: looked
	later := t0.Add(10 * time.Minute)
	rkClock := func() time.Time {
		switch phase.Load() {
		case 1:
			if phase.CompareAndSwap(1, 2) {
				return t0 // the first look
			}
			return later
		case 2:
			return later
		}
		return t0
	}
	rk := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute), fsstore.WithClock(rkClock))
	gc := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute), fsstore.WithClock(func() time.Time { return later }))
	rk.SetRekeyListedHookForTest(func(string) { phase.CompareAndSwap(0, 1) })

	var (
		mu      sync.Mutex
		removed bool
		once    sync.Once
		sweepIn error
	)
	sweep := func(ctx context.Context) error {
		_, err := gc.Sweep(ctx, fsstore.SweepOptions{Grace: time.Minute, OnRemove: func(r fsstore.Removal) {
			if r.Path == p {
				mu.Lock()
				removed = true
				mu.Unlock()
			}
		}})
		return err
	}
	rk.SetRekeyCheckedHookForTest(func(string) {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			sweepIn = sweep(sctx)
		})
	})
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{Grace: time.Hour})
	if err != nil {
		t.Fatalf("rekey: %+v, %v", st, err)
	}
	if phase.Load() != 2 {
		t.Fatal("the rekey never looked at the record")
	}
	t.Logf("rekey %+v; sweep inside its rewrite: %v", st, sweepIn)
	if sweepIn != nil {
		// Held off by the rekey: it removes the record now.
		must(t, sweep(ctx))
	}
	mu.Lock()
	defer mu.Unlock()
	there := exists(t, p)
	aside := exists(t, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p)))
	if removed && (there || aside) {
		t.Fatalf("the sweep reported %s removed, and it is back (under its name %v, aside %v)", p, there, aside)
	}
	if !removed && !there {
		t.Fatalf("%s is gone, and the sweep did not report removing it (aside %v)", p, aside)
	}
}
