package fsstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSweepFailingIOOneShardSameOutcome: one damaged shard among healthy
// ones (every stat under it fails with EIO, more of them than the run's
// limit) must give a sweep the same outcome every time, whatever the
// concurrency and whichever worker meets it when: operators alert on
// sessgc's exit code, and the same store must give the same code. One
// damaged shard is not a storm over the store: the sweep goes on to its
// end, the shard's files counted as errors, and does not stop with
// ErrFailingIO. The rule that counted failures "in a row" across all
// workers stopped a sweep at concurrency 1 every time and at 8 most times.
func TestSweepFailingIOOneShardSameOutcome(t *testing.T) {
	const run, damaged, healthy, sweeps = 10, 14, 200, 20
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := context.Background()
	perShard := map[string]int{}
	var bad string
	for total := 0; bad == "" || total < damaged+healthy; {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		shard := filepath.Dir(s.RecordPathForTest(id))
		if bad != "" && shard == bad {
			continue
		}
		if bad == "" && perShard[shard] == damaged {
			continue
		}
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		total++
		if perShard[shard]++; bad == "" && perShard[shard] == damaged {
			bad = shard
		}
	}
	s.SetSweepStatFaultForTest(func(path string) error {
		if strings.HasPrefix(path, bad+string(filepath.Separator)) {
			return syscall.EIO
		}
		return nil
	}, run)
	for _, concurrency := range []int{1, 8} {
		stopped := 0
		for i := 0; i < sweeps; i++ {
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: concurrency, DryRun: true})
			if errors.Is(err, fsstore.ErrFailingIO) {
				stopped++
				continue
			}
			if err != nil {
				t.Fatalf("concurrency %d: %v", concurrency, err)
			}
			if st.Errors != damaged {
				t.Errorf("concurrency %d: %d errors, want %d (the damaged shard's files)", concurrency, st.Errors, damaged)
			}
		}
		if stopped != 0 {
			t.Errorf("concurrency %d: %d of %d sweeps stopped with ErrFailingIO at one damaged shard; want none", concurrency, stopped, sweeps)
		}
	}
}
