package fsstore_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestMarkerUnlockFailureLogged: the two changes of the marker, a raise
// of its max idle and its encrypted line put back, dropped the error of
// their lock's release, where the sweep and the rekey log theirs: a
// lease lost between the Verify that let the change stand and the
// release (a host stopped for longer than the lease) went unseen. The
// change stands, and the failed release is logged.
func TestMarkerUnlockFailureLogged(t *testing.T) {
	for _, tc := range []struct {
		what string
		// change opens a store on dir with opts, gives it to hook, and
		// makes it change the marker under the marker lock.
		change func(t *testing.T, dir string, hook func(*fsstore.Store), opts ...fsstore.Option)
	}{
		{"raise max idle", func(t *testing.T, dir string, hook func(*fsstore.Store), opts ...fsstore.Option) {
			s := openDir(t, dir, opts...)
			hook(s)
			// Longer than the store's idle timeout: the save raises the
			// marker's max idle.
			if err := s.Save(context.Background(), &fsstore.Session{ID: newID(t), Data: []byte("x"), Idle: 48 * time.Hour}); err != nil {
				t.Fatal(err)
			}
		}},
		{"mark store encrypted", func(t *testing.T, dir string, hook func(*fsstore.Store), opts ...fsstore.Option) {
			clk := fakeclock.New()
			s := openDir(t, dir, append(opts, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clk.Now))...)
			hook(s)
			stripEncryptedLine(t, dir)
			// A keyed save a minute later looks at the marker and puts
			// the line back.
			clk.Advance(time.Minute)
			if err := s.Save(context.Background(), &fsstore.Session{ID: newID(t), Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, fsstore.MarkerFile))
			if err != nil || !strings.Contains(string(b), "encrypted 1\n") {
				t.Errorf("marker %q (%v), want its encrypted line back", b, err)
			}
		}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			dir := t.TempDir()
			var logs testenv.Buffer
			hooked := 0
			hook := func(s *fsstore.Store) {
				s.SetMarkerUnlockHookForTest(func(what string) {
					if what != tc.what {
						return
					}
					hooked++
					// As a breaker does with a lease that ran out.
					if err := os.Remove(filepath.Join(dir, fsstore.LockDir, "marker.lease")); err != nil {
						t.Error(err)
					}
				})
			}
			tc.change(t, dir, hook, fsstore.WithLockStrategy(lock.Lease),
				fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if hooked == 0 {
				t.Fatalf("no %s under the marker lock", tc.what)
			}
			if got := logs.String(); !strings.Contains(got, "fsstore: "+tc.what+": releasing its lock failed") {
				t.Errorf("log:\n%s\nwant the failed release of the marker lock", got)
			}
		})
	}
}
