//go:build unix

package lock_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// BenchmarkTableCycle measures one uncontended Lock+Unlock through the
// table (flock on a kept descriptor): the table's own cost plus two flock
// system calls. par goroutines lock distinct files; shared-file makes them
// lock distinct keys on one file, sharing its OS lock.
func BenchmarkTableCycle(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		sameFn bool
	}{{"distinct-files", false}, {"shared-file", true}} {
		b.Run(tc.name, func(b *testing.B) {
			tab, err := lock.NewTable(lock.Config{Dir: b.TempDir(), Strategy: lock.Flock})
			if err != nil {
				b.Fatal(err)
			}
			defer tab.Close()
			var next int
			var mu = make(chan struct{}, 1)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				mu <- struct{}{}
				g := next
				next++
				<-mu
				file, key := fmt.Sprint("f", g), fmt.Sprint("k", g)
				if tc.sameFn {
					file = "f"
				}
				for pb.Next() {
					h, err := tab.Lock(ctx, file, key, lock.Exclusive)
					if err != nil {
						b.Error(err)
						return
					}
					h.Unlock()
				}
			})
		})
	}
}

// BenchmarkTableContended measures Lock+Unlock of one key by 8
// goroutines at once (8 requests for one session): nearly every turn is
// a handover to a waiting goroutine. yield has each holder yield its
// processor under the lock once (a request's work), which lets the
// others queue asleep, as requests that hold a session through a
// handler do. wakes/op counts the waiting goroutines woken per turn.
func BenchmarkTableContended(b *testing.B) {
	const goroutines = 8
	for _, yield := range []bool{false, true} {
		b.Run(fmt.Sprintf("yield=%v", yield), func(b *testing.B) {
			ctx := context.Background()
			tab, err := lock.NewTable(lock.Config{Dir: b.TempDir(), Strategy: lock.Flock})
			if err != nil {
				b.Fatal(err)
			}
			defer tab.Close()
			b.ReportAllocs()
			b.ResetTimer()
			var turns atomic.Int64
			var wg sync.WaitGroup
			for range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for turns.Add(1) <= int64(b.N) {
						h, err := tab.Lock(ctx, "f", "k", lock.Exclusive)
						if err != nil {
							b.Error(err)
							return
						}
						if yield {
							runtime.Gosched()
						}
						h.Unlock()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if wakes := tab.WakesForTest("f"); wakes >= 0 {
				b.ReportMetric(float64(wakes)/float64(b.N), "wakes/op")
			}
		})
	}
}

// BenchmarkTableUncontended measures one goroutine's Lock+Unlock of one
// key through the table alone (an in-memory OS lock): the cost of the
// table's bookkeeping, without the flock system calls of
// BenchmarkTableCycle.
func BenchmarkTableUncontended(b *testing.B) {
	ctx := context.Background()
	tab := lock.NewTableWithFakeOS(lock.Config{Dir: b.TempDir()}, &lock.FakeOS{})
	defer tab.Close()
	b.ReportAllocs()
	for b.Loop() {
		h, err := tab.Lock(ctx, "f", "k", lock.Exclusive)
		if err != nil {
			b.Fatal(err)
		}
		h.Unlock()
	}
}
