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

// TestSweepFailingIOSparseShards: in a store of few records (most shards
// holding one), a record whose stat fails fails its whole shard. Fewer
// I/O errors than the run's limit, each in a shard of its own, are a few
// bad sectors: the sweep goes on to its end, at any concurrency. As many
// as the limit, in as many shards, are a storm: it stops, every time.
func TestSweepFailingIOSparseShards(t *testing.T) {
	const files, run = 120, 10
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := context.Background()
	byShard := map[string][]string{}
	for i := 0; i < files; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		p := s.RecordPathForTest(id)
		byShard[filepath.Dir(p)] = append(byShard[filepath.Dir(p)], p)
	}
	var alone []string // records alone in their shard
	for _, ps := range byShard {
		if len(ps) == 1 {
			alone = append(alone, ps[0])
		}
	}
	if len(alone) < run {
		t.Fatalf("%d records alone in their shard, want %d", len(alone), run)
	}
	for _, tc := range []struct {
		bad  int
		stop bool
	}{{run - 1, false}, {run, true}} {
		bad := map[string]bool{}
		for _, p := range alone[:tc.bad] {
			bad[p] = true
		}
		s.SetSweepStatFaultForTest(func(path string) error {
			if bad[path] {
				return syscall.EIO
			}
			return nil
		}, run)
		for _, concurrency := range []int{1, 8} {
			for i := 0; i < 5; i++ {
				st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: concurrency, DryRun: true})
				if stopped := errors.Is(err, fsstore.ErrFailingIO); stopped != tc.stop {
					t.Fatalf("%d records failing, each alone in its shard, concurrency %d: %+v, %v; want stopped %v", tc.bad, concurrency, st, err, tc.stop)
				}
				if !tc.stop && (err != nil || st.Errors != int64(tc.bad)) {
					t.Fatalf("%d records failing, concurrency %d: %d errors, %v; want as many errors and no error", tc.bad, concurrency, st.Errors, err)
				}
			}
		}
	}
}
