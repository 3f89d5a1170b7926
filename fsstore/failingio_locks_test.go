//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestSweepFailingIOLockDirJudgedAsOne: the lock directory is one
// directory, judged by its own files as a shard is. Lease files whose
// stat fails with EIO among ones that answer (a few bad sectors under
// locks/) are counted errors of a sweep that goes on, however many; the
// rule counted each of them as a failing directory of its own, so that
// one damaged lock directory among healthy shards stopped the pass with
// ErrFailingIO (sessgc: exit 3), where the same damage in a shard did
// not. Every lease file failing (a storm under locks/ alone) is still one
// directory: the pass goes on too.
func TestSweepFailingIOLockDirJudgedAsOne(t *testing.T) {
	const run, leases = 10, 60
	for _, tc := range []struct {
		name  string
		every int // the stat of every every-th lease file fails
	}{
		{"every other lease file EIO", 2},
		{"every lease file EIO", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t, fsstore.WithLockStrategy(lock.Lease))
			locks := filepath.Join(s.Dir(), fsstore.LockDir)
			if err := os.MkdirAll(locks, 0o755); err != nil {
				t.Fatal(err)
			}
			bad := map[string]bool{}
			for i := 0; i < leases; i++ {
				p := filepath.Join(locks, fmt.Sprintf("zz%04d.lease", i))
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				bad[p] = i%tc.every == 0
			}
			s.SetSweepStatFaultForTest(func(path string) error {
				if bad[path] {
					return syscall.EIO
				}
				return nil
			}, run)
			for _, concurrency := range []int{1, 8} {
				st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: concurrency, DryRun: true})
				if err != nil {
					t.Fatalf("concurrency %d: %v; want the sweep to go on to its end", concurrency, err)
				}
				if want := int64(leases / tc.every); st.Errors != want {
					t.Errorf("concurrency %d: %d errors, want %d (the failing lease files)", concurrency, st.Errors, want)
				}
			}
		})
	}
}
