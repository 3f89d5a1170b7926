//go:build unix

package fsstore_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestSweepLockReleaseFailureLogged: a sweep whose sweep lock is lost
// while it holds it (its lease removed here; a breaker's takeover after
// the host stalled past the lease, in life) finishes its work, which is
// safe (TestLeaseStoppedSweeperTakenOver), but the error of the lock's
// release, the one sign of it, was dropped: nothing was logged. It is
// logged as a warning, naming the sweep and the error.
func TestSweepLockReleaseFailureLogged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs testenv.Buffer
	s := openDir(t, dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithIdleTimeout(time.Second),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}))
	age(t, s.RecordPathForTest(id))
	var once sync.Once
	s.SetSweepHooksForTest(nil, nil, func(string) {
		// Moved aside: the sweep holds its lock.
		once.Do(func() {
			leases, err := filepath.Glob(filepath.Join(dir, fsstore.LockDir, "sweep*.lease"))
			if err != nil || len(leases) != 1 {
				t.Errorf("sweep lock's lease: %v, %v; want one file", leases, err)
				return
			}
			if err := os.Remove(leases[0]); err != nil {
				t.Error(err)
			}
		})
	})
	st, err := s.Sweep(ctx, sweepOpts)
	if err != nil || st.Sessions != 1 {
		t.Fatalf("sweep: %+v, %v; want the expired session removed", st, err)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "sweep: releasing its lock failed") || !strings.Contains(out, "lease") {
		t.Errorf("log after a sweep whose lock was lost: %q; want a warning that its release failed, with the error", out)
	}
}
