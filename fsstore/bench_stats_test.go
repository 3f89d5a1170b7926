//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// BenchmarkStats times Store.Stats over a store of n sessions, a tenth of
// them expired, in the temp directory (its filesystem is the one
// measured), with the attributes in the kernel's cache: the census's own
// cost, system calls and allocations, per op and per file. Concurrency 4,
// as sessgc stats runs it. cpu-ns/file is the process's CPU time (user
// and system, getrusage) per file: on a machine shared with other work
// the wall time says more about the others than about Stats.
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			s := statsBenchStore(b, n)
			ctx := context.Background()
			opts := fsstore.StatsOptions{Concurrency: 4}
			if st, err := s.Stats(ctx, opts); err != nil || st.Live+st.Expired != int64(n) || st.Errors != 0 {
				b.Fatalf("stats: %+v, %v; want %d sessions", st, err, n)
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				if _, err := s.Stats(ctx, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/file")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/file")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statsBenchStore returns a store of n one-KiB sessions, every tenth aged
// two days.
func statsBenchStore(b *testing.B, n int) *fsstore.Store {
	b.Helper()
	s, err := fsstore.Open(b.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	old := time.Now().Add(-48 * time.Hour)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make(chan error, 4)
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id, err := fsstore.NewID()
				if err == nil {
					err = s.Save(context.Background(), &fsstore.Session{ID: id, Data: make([]byte, 960)})
				}
				if err == nil && i%10 == 0 {
					err = os.Chtimes(s.RecordPathForTest(id), old, old)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return s
}
