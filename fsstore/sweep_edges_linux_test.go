//go:build linux

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// setImmutable makes p impossible to unlink, even for root (chattr +i),
// and undoes it at cleanup; it skips the test where the filesystem or the
// process cannot.
func setImmutable(t *testing.T, p string) {
	t.Helper()
	testenv.SetImmutable(t, p)
	if err := os.Remove(p); err == nil || !errors.Is(err, os.ErrPermission) {
		t.Skipf("an immutable file is removable here: %v", err)
	}
}

// A file the sweep decided to remove but could not is an error
// (SweepStats.Errors), in locks/ as for temp files and records: a dead
// lease's leftover that cannot be removed (or examined) is reported, so
// that sessgc exits non-zero instead of leaving it forever unnoticed.
func TestSweepReportsLockLeftoverItCannotRemove(t *testing.T) {
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	for _, tc := range []struct {
		name string
		path func(dir string, s *fsstore.Store) string
	}{
		{"temp file in a shard (reported)", func(dir string, s *fsstore.Store) string {
			p := filepath.Join(filepath.Dir(s.RecordPathForTest(newID(t))), ".tmp-crashed")
			os.MkdirAll(filepath.Dir(p), 0o700)
			return p
		}},
		{"dead breaker's lease in locks/", func(dir string, s *fsstore.Store) string {
			return filepath.Join(dir, fsstore.LockDir, "0bad.lease.take-0123456789abcdef0123456789abcdef")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			p := tc.path(dir, s)
			writeAged(t, p, 160, old)
			setImmutable(t, p)
			var reported []error
			sw, err := s.Sweep(ctx, fsstore.SweepOptions{OnError: func(err error) { reported = append(reported, err) }})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("sweep %+v, errors %v", sw, reported)
			if sw.Errors != 1 || len(reported) != 1 {
				t.Errorf("sweep could not remove %s and reported %d errors (%v), want 1", filepath.Base(p), sw.Errors, reported)
			}
		})
	}
}
