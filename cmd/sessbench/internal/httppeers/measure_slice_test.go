package httppeers

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/hist"
)

// TestMeasureSliceShorterThanStart: measure's stop timer starts before
// its clients' goroutines, and a slice that ended before a goroutine ran
// (a short --duration split into rounds, on a busy machine) recorded no
// request at all: the peer's p50 read 0. Each client makes one request at
// least, whatever the slice.
func TestMeasureSliceShorterThanStart(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	clients := []*client{{h: ok}, {h: ok}}
	for _, n := range []int{1, 2} {
		for range 20 {
			var h hist.Histogram
			if err := measure(context.Background(), clients, n, time.Nanosecond, &h); err != nil {
				t.Fatal(err)
			}
			if got := h.Count(); got < uint64(n) {
				t.Fatalf("%d clients, a 1ns slice: %d requests recorded, want one per client at least", n, got)
			}
		}
	}
}
