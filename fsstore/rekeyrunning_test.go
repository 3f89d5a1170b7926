//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestRekeyWhileAnotherProcessRekeys: two Rekey calls of one store in two
// processes at once (library callers, or sessgc rekey --no-fleet-lock).
// The second is refused at once with ErrRekeyRunning, and rewrites
// nothing: the first rewrites what it would. It ran alongside, and each
// record near its expiry that met the sweep lock the other rekey held
// for its own such record (the sweep lock excludes across processes
// even where both hold it Shared) failed with "a sweep is still
// running": the wrong reason, and no sweep to wait for. Once the first
// pass has ended, the next runs.
//
// The other rekey, in a child, stops right before the rename of its first
// rewrite, holding that record's lock and the sweep lock; it goes on once
// this one is refused, or, without the refusal, once a record of this one
// failed.
func TestRekeyWhileAnotherProcessRekeys(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	app := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Hour))
	const n = 8
	at := time.Now().Add(-time.Hour + 30*time.Second) // within a minute of its expiry
	for i := 0; i < n; i++ {
		id := newID(t)
		must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id)}))
		must(t, os.Chtimes(app.RecordPathForTest(id), at, at))
	}
	openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour)).Close()

	other := startChild(t, "rekey-step", []string{"STORE_DIR=" + dir, "STORE_KEYS=" + k2.SecretLine() + ";" + k1.SecretLine()})
	other.Expect(t, "checked")
	var release sync.Once
	letGo := func() { release.Do(func() { other.Send(t, "go") }) }
	defer letGo()

	rk := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly(), fsstore.WithIdleTimeout(time.Minute))
	rk.SetRekeyAsideWaitForTest(10 * time.Millisecond) // the other rekey holds it throughout
	var (
		mu   sync.Mutex
		errs []error
	)
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{Concurrency: n, OnError: func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		letGo() // the other rekey's record, which a worker here waits for
	}})
	letGo()
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(err, fsstore.ErrRekeyRunning) || st != (fsstore.RekeyStats{}) || len(errs) != 0 {
		t.Errorf("Rekey while another process's rekey ran = %+v, %v; OnError %v; want ErrRekeyRunning, nothing done", st, err, errs)
	}
	if err != nil {
		for _, want := range []string{"another rekey of the store is running", "nothing was rewritten"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal does not say %q: %v", want, err)
			}
		}
	}
	other.Expect(t, "rekey scanned=8 rekeyed=8 errors=0 ")
	other.Finish(t)
	if st, err := rk.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.UpToDate != n || st.Errors != 0 {
		t.Fatalf("Rekey once the other one ended = %+v, %v; want every record up to date", st, err)
	}
	// The lock's file is the store's: no sweep or Stats counts it foreign.
	var foreign []string
	if _, err := rk.Sweep(ctx, fsstore.SweepOptions{OnForeign: func(p string) { foreign = append(foreign, p) }}); err != nil || len(foreign) != 0 {
		t.Errorf("Sweep after the rekeys: %v, foreign %v; want none", err, foreign)
	}
	if st, err := rk.Stats(ctx, fsstore.StatsOptions{}); err != nil || st.Foreign != 0 {
		t.Errorf("Stats after the rekeys: %+v, %v; want nothing foreign", st, err)
	}
}

// TestRekeyAfterAKilledRekeyOnLeases: on the lease strategy, a rekey
// killed mid-pass leaves its lease of the store's rekey lock, which
// refuses the next rekey until it expires. The refusal says so, where it
// said only that another rekey was running, which none was: an operator
// looked for one, or took the store for stuck. Once the lease expired,
// a rekey runs.
func TestRekeyAfterAKilledRekeyOnLeases(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	app := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithLockStrategy(lock.Lease))
	must(t, app.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 1")}))
	openDir(t, dir, fsstore.WithKeys(k2, k1)).Close()

	kid := startChild(t, "rekey-step", []string{"STORE_DIR=" + dir, "STORE_STRATEGY=lease", "STORE_KEYS=" + k2.SecretLine() + ";" + k1.SecretLine()})
	kid.Expect(t, "checked")
	if err := kid.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := kid.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("rekey ended with %v, want killed; stderr:\n%s", err, kid.Stderr)
	}

	rk := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly())
	st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
	if !errors.Is(err, fsstore.ErrRekeyRunning) || st != (fsstore.RekeyStats{}) {
		t.Fatalf("Rekey right after a rekey was killed = %+v, %v; want ErrRekeyRunning (its lease is not expired yet)", st, err)
	}
	for _, want := range []string{"rekey.lease", "killed", "until its lease expires"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err = rk.Rekey(ctx, fsstore.RekeyOptions{})
		if !errors.Is(err, fsstore.ErrRekeyRunning) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling for the lease's expiry
	}
	if err != nil || st.Rekeyed+st.UpToDate != 1 || st.Errors != 0 {
		t.Fatalf("Rekey once the killed rekey's lease expired = %+v, %v; want the record rewritten", st, err)
	}
}
