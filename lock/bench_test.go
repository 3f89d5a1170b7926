//go:build unix

package lock_test

import (
	"context"
	"fmt"
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
