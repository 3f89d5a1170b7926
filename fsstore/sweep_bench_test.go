package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// BenchmarkSweepScan sweeps a store of live sessions, which it lists and
// keeps: the scan's cost per file, most of what a sweep of a store does.
// Set SESSFS_BENCH_SWEEP_FILES for another size (default 100000).
func BenchmarkSweepScan(b *testing.B) {
	files := 100_000
	if v := os.Getenv("SESSFS_BENCH_SWEEP_FILES"); v != "" {
		if _, err := fmt.Sscan(v, &files); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	s, err := fsstore.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// One record saved; the others are copies of its bytes under other
	// sessions' names: the scan judges by name and attributes alone.
	first, err := fsstore.NewID()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Save(ctx, &fsstore.Session{ID: first, Data: []byte("live")}); err != nil {
		b.Fatal(err)
	}
	rec, err := os.ReadFile(s.RecordPathForTest(first))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < files; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			b.Fatal(err)
		}
		p := s.RecordPathForTest(id)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, rec, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for _, conc := range []int{1, 16} {
		b.Run(fmt.Sprint("concurrency=", conc), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: conc, Grace: time.Minute, OnRemove: func(fsstore.Removal) {}})
				if err != nil || st.Live != int64(files) {
					b.Fatalf("sweep: %+v, %v; want %d live", st, err, files)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(files), "ns/file")
		})
	}
}
