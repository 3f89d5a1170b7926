package httppeers

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryFlat: what a measurement keeps does not grow with the requests
// it sends, so that a long --duration does not run out of memory (each
// request's latency was kept until the end).
func TestMemoryFlat(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates per operation")
	}
	const first, last = 20000, 220000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	var at [2]uint64 // heap in use after the first and the last request
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == pathNew {
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "x"})
			return
		}
		switch n.Add(1) {
		case first:
			at[0] = heap()
		case last:
			at[1] = heap()
			cancel()
		}
	})
	cfg := Config{Sizes: []int{1}, Duration: time.Hour, Rounds: 1, Concurrency: 1, Sessions: 1}
	if _, _, err := Run(ctx, cfg, []*Peer{{Name: "flat", Handler: h}}); err == nil {
		t.Fatal("the run ended before its last request")
	}
	if at[1] > at[0]+1<<20 {
		t.Errorf("heap in use %d bytes after %d requests, %d after %d: memory grows with the run", at[0], first, at[1], last)
	}
}
