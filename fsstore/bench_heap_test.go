//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// BenchmarkHeap shows that a Store's memory does not grow with the number of
// sessions on disk: with the cache on (1,000 entries), it loads every one of
// N sessions under its lock, then reports the live heap the Store added
// (heap-B) and the descriptors it keeps open (fds). Both should be the same
// for N = 1,000 and N = 100,000 (10,000 with -short): the cache, the lock
// table and the kept-open lock files are bounded, whatever N.
func BenchmarkHeap(b *testing.B) {
	ns := []int{1_000, 100_000}
	if testing.Short() {
		ns = []int{1_000, 10_000}
	}
	ctx := context.Background()
	for _, n := range ns {
		dir := benchDir(b)
		ids := populate(b, dir, n, 1<<10)
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			fdsBefore := openFDs(b)
			s, err := fsstore.Open(dir, fsstore.WithCache(1_000, 4<<20))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, id := range ids {
					l, err := s.Lock(ctx, id, fsstore.Exclusive)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := l.Load(ctx); err != nil {
						b.Fatal(err)
					}
					if err := l.Unlock(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "heap-B")
			b.ReportMetric(float64(openFDs(b)-fdsBefore), "fds")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/session")
			runtime.KeepAlive(s)
		})
	}
}

// populate saves n sessions of size bytes in a new store in dir and returns
// their IDs.
func populate(b *testing.B, dir string, n, size int) []string {
	b.Helper()
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := make([]string, n)
	for i := range ids {
		if ids[i], err = fsstore.NewID(); err != nil {
			b.Fatal(err)
		}
	}
	data := make([]byte, size)
	workers := runtime.GOMAXPROCS(0)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := s.Save(context.Background(), &fsstore.Session{ID: ids[i], Data: data}); err != nil {
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
	return ids
}

// openFDs counts this process's open descriptors.
func openFDs(b *testing.B) int {
	b.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}
