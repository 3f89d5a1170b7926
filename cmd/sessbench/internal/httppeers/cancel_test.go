package httppeers

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunStopsCreatingSessionsAtCancel: Ctrl-C while a peer's sessions are
// made, or warmed up, stops the run at the next request. Only the
// measurements looked at the run's context: a run of --sessions 100000
// on a mount at a few milliseconds a request made every session and sent
// each its warm-up request before Ctrl-C took, minutes later.
func TestRunStopsCreatingSessionsAtCancel(t *testing.T) {
	const sessions, cancelAt = 1000, 3
	for _, tt := range []struct {
		name string
		path string // the route whose cancelAt-th request cancels the run
	}{
		{"creating", pathNew},
		{"warming up", pathIncr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var news, incrs atomic.Int64
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := &news
				if r.URL.Path == pathIncr {
					n = &incrs
				}
				if n.Add(1) == cancelAt && r.URL.Path == tt.path {
					cancel()
				}
				http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "x"})
				w.Write([]byte("1"))
			})
			cfg := Config{Sizes: []int{16}, Duration: time.Second, Rounds: 1, Concurrency: 1, Sessions: sessions}
			_, _, err := Run(ctx, cfg, []*Peer{{Name: "counting", Handler: h}})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v, want the run's end", err)
			}
			if got := news.Load() + incrs.Load(); tt.path == pathNew && got != cancelAt || tt.path == pathIncr && got != sessions+cancelAt {
				t.Errorf("%d sessions made and %d warm-up requests sent; the run ended at the %s request %d", news.Load(), incrs.Load(), tt.path, cancelAt)
			}
		})
	}
}
