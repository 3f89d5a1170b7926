//go:build unix

package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// A caller that gives up on a scan stuck in a call to a file server that
// does not answer (sessgc's watchdog) reports what it did from the
// scan's Progress, read while the scan runs: it must show the work done
// before the stuck call, and at the end what the scan returns.
func TestScanProgress(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// run runs the scan with p and calls mid while it is under way,
		// right before the first record it changes; it returns the
		// scan's stats without Duration.
		run func(t *testing.T, mid func()) (final, progress any, midOK func() bool)
	}{
		{"Sweep", func(t *testing.T, mid func()) (any, any, func() bool) {
			s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
			ids := []string{newID(t), newID(t), newID(t)}
			for _, id := range ids {
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			}
			age(t, s.RecordPathForTest(ids[0]))
			var p fsstore.SweepProgress
			var at fsstore.SweepStats
			s.SetSweepHooksForTest(nil, func(string) { at = p.Stats(); mid() }, nil)
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, Progress: &p})
			s.SetSweepHooksForTest(nil, nil, nil)
			if err != nil || st.Sessions != 1 || st.Live != 2 {
				t.Fatalf("sweep: %+v, %v", st, err)
			}
			st.Duration = 0
			// The record's shard was listed, and counted, before its
			// removal began; nothing was removed yet.
			return st, p.Stats(), func() bool { return at.Scanned >= 1 && at.Sessions == 0 }
		}},
		{"Rekey", func(t *testing.T, mid func()) (any, any, func() bool) {
			dir := t.TempDir()
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			old := openDir(t, dir, fsstore.WithKeys(k1))
			for range 3 {
				if err := old.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			}
			s := openDir(t, dir, fsstore.WithKeys(k2, k1))
			var p fsstore.RekeyProgress
			var at fsstore.RekeyStats
			first := true
			s.SetRekeyReadHookForTest(func(string) {
				if first {
					first, at = false, p.Stats()
					mid()
				}
			})
			st, err := s.Rekey(ctx, fsstore.RekeyOptions{Progress: &p})
			if err != nil || st.Rekeyed != 3 {
				t.Fatalf("rekey: %+v, %v", st, err)
			}
			st.Duration = 0
			return st, p.Stats(), func() bool { return at.Scanned >= 1 && at.Rekeyed == 0 }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			final, progress, midOK := tc.run(t, func() { called = true })
			if !called {
				t.Fatal("the scan changed nothing")
			}
			if !midOK() {
				t.Errorf("progress read mid-scan does not show the record being worked on as scanned and not yet done")
			}
			if final != progress {
				t.Errorf("progress at the end %+v, want what the scan returned: %+v", progress, final)
			}
		})
	}
}
