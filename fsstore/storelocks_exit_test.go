//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestStoreLocksReleasedOnEveryExit: a long operation that holds a
// store-level lock (a sweep the sweep lock; a rekey the rekey lock, and
// the sweep lock for a record near its expiry) releases it on every way
// out: its context cancelled mid-pass, a panic in the caller's callback
// (raised again in its caller, who recovers it), and the store's Close
// from inside the pass; on either lock strategy. Afterwards another
// process may take each lock at once (flock), and no lease of them is
// left (lease).
func TestStoreLocksReleasedOnEveryExit(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, op := range []string{"sweep", "rekey"} {
			for _, exit := range []string{"cancel", "panic", "close"} {
				t.Run(strategy.String()+"/"+op+"/"+exit, func(t *testing.T) {
					testStoreLocksReleased(t, strategy, op, exit)
				})
			}
		}
	}
}

func testStoreLocksReleased(t *testing.T, strategy lock.Strategy, op, exit string) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	withStrategy := fsstore.WithLockStrategy(strategy)
	app := openDir(t, dir, fsstore.WithKeys(k1), withStrategy, fsstore.WithIdleTimeout(time.Hour))
	at := time.Now().Add(-48 * time.Hour) // sweep: expired
	if op == "rekey" {
		at = time.Now().Add(-time.Hour + 30*time.Second) // within a minute of its expiry: under the sweep lock
	}
	for i := 0; i < 8; i++ {
		id := newID(t)
		must(t, app.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}))
		must(t, os.Chtimes(app.RecordPathForTest(id), at, at))
	}
	must(t, app.Close())

	s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), withStrategy, fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityFull))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	held := false
	atHold := func(string) {
		once.Do(func() {
			held = true
			switch exit {
			case "cancel":
				cancel()
			case "close":
				s.Close()
			}
		})
	}
	boom := func() { atHold(""); panic("boom") }
	got := func() (p any) {
		defer func() { p = recover() }()
		switch op {
		case "sweep":
			o := fsstore.SweepOptions{Concurrency: 2}
			if exit == "panic" {
				o.OnRemove = func(fsstore.Removal) { boom() }
			} else {
				s.SetSweepHooksForTest(nil, atHold, nil)
			}
			_, err = s.Sweep(ctx, o)
		case "rekey":
			o := fsstore.RekeyOptions{Concurrency: 2}
			if exit == "panic" {
				// Every rewrite's directory sync fails: an error each.
				s.SetDirSyncForTest(func(int) error { return syscall.EIO })
				o.OnError = func(error) { boom() }
			} else {
				s.SetRekeyReadHookForTest(atHold)
			}
			_, err = s.Rekey(ctx, o)
		}
		return nil
	}()
	if !held {
		t.Fatalf("%s never reached its hold point: %v, %v", op, got, err)
	}
	switch exit {
	case "panic":
		if got != "boom" {
			t.Fatalf("%s with its callback panicking raised %v in its caller (err %v); want the callback's panic", op, got, err)
		}
	case "cancel":
		if got != nil || !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled: %v, %v; want context.Canceled", op, got, err)
		}
	case "close":
		if got != nil || !errors.Is(err, fsstore.ErrClosed) {
			t.Errorf("%s of a store closed under it: %v, %v; want ErrClosed", op, got, err)
		}
	}
	for _, name := range []string{"sweep", "rekey", "marker"} {
		if strategy == lock.Lease {
			if _, err := os.Lstat(filepath.Join(dir, fsstore.LockDir, name+".lease")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after the %s ended (%s): %s.lease: %v, want none", op, exit, name, err)
			}
			continue
		}
		l, err := lock.TryLockFile(filepath.Join(dir, fsstore.LockDir, name))
		if err != nil {
			t.Errorf("after the %s ended (%s): lock %s: %v, want it free", op, exit, name, err)
			continue
		}
		l.Unlock()
	}
}
