//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestScanCallbacksEndWithTheCall: a Sweep or Rekey given up on
// (ErrUnavailable) while its work is held up goes on in the background,
// and what it does then is not passed to OnRemove or OnError: its caller,
// answered, may have closed what they write to. The work is counted in
// Progress and the callbacks not called are logged, with the slot still
// taken. Range's fn is held so too (TestBoundRangeCallback).
func TestScanCallbacksEndWithTheCall(t *testing.T) {
	keys := []fsstore.Key{mustKey(t, 2), mustKey(t, 1)}
	for _, tc := range []struct {
		name string
		// prepare leaves in dir one record whose handling calls the
		// callback, written by a store that is not bounded (the
		// fixture's ceiling is too short for a save under the race
		// detector).
		prepare func(t *testing.T, dir string)
		// setup holds the scan up in hold before it calls the callback,
		// and returns the scan, calling cb in place of the caller's
		// callback, and what the scan counted done.
		setup func(f *boundFixture, hold func()) (scan func(ctx context.Context, cb func()) error, done func() int64)
	}{
		{"sweep", func(t *testing.T, dir string) {
			s := openKeyed(t, dir, keys...)
			id := newID(t)
			mustSave(t, s, id, "x")
			old := time.Now().Add(-48 * time.Hour)
			if err := os.Chtimes(s.RecordPathForTest(id), old, old); err != nil {
				t.Fatal(err)
			}
		}, func(f *boundFixture, hold func()) (func(context.Context, func()) error, func() int64) {
			f.s.SetSweepHooksForTest(nil, nil, func(string) { hold() })
			prog := new(fsstore.SweepProgress)
			return func(ctx context.Context, cb func()) error {
				_, err := f.s.Sweep(ctx, fsstore.SweepOptions{Progress: prog, OnRemove: func(fsstore.Removal) { cb() }})
				return err
			}, func() int64 { return prog.Stats().Sessions }
		}},
		{"rekey", func(t *testing.T, dir string) {
			mustSave(t, openKeyed(t, dir, keys[1]), newID(t), "x") // under the older key
		}, func(f *boundFixture, hold func()) (func(context.Context, func()) error, func() int64) {
			f.s.SetRekeyReadHookForTest(func(string) { hold() })
			// The rewrite's directory sync fails: an error for OnError.
			f.s.SetDirSyncForTest(func(int) error { return syscall.EIO })
			prog := new(fsstore.RekeyProgress)
			return func(ctx context.Context, cb func()) error {
				_, err := f.s.Rekey(ctx, fsstore.RekeyOptions{Progress: prog, OnError: func(error) { cb() }})
				return err
			}, func() int64 { return prog.Stats().Errors }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			f := newBoundFixtureIn(t, dir, fsstore.WithOpTimeout(time.Millisecond), fsstore.WithIdleTimeout(time.Minute),
				fsstore.WithKeys(keys...), fsstore.WithDurability(fsstore.DurabilityFull))
			held, let := make(chan struct{}), make(chan struct{})
			var once atomic.Bool
			scan, done := tc.setup(f, func() {
				if once.CompareAndSwap(false, true) {
					close(held)
					<-let
				}
			})
			var returned atomic.Bool
			var late atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				err := scan(ctx, func() {
					if returned.Load() {
						late.Add(1)
					}
				})
				returned.Store(true)
				errc <- err
			}()
			select {
			case <-held:
			case err := <-errc:
				t.Fatalf("the scan returned %v without reaching its record", err)
			}
			cancel()
			isUnavailable(t, <-errc, context.Canceled)
			close(let)
			f.settle(t)
			if n := done(); n != 1 {
				t.Fatalf("the scan counted %d records done in the background, want 1", n)
			}
			if n := late.Load(); n != 0 {
				t.Fatalf("callback called %d times after the scan returned ErrUnavailable, want none", n)
			}
			if log := f.log.String(); !strings.Contains(log, "dropped=1") {
				t.Fatalf("no log of the callback not called:\n%s", log)
			}
		})
	}
}

// openKeyed opens a store on dir with keys that is not bounded, its
// sessions' idle timeout a minute.
func openKeyed(t *testing.T, dir string, keys ...fsstore.Key) *fsstore.Store {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithKeys(keys...), fsstore.WithMaxInFlight(0), fsstore.WithIdleTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
