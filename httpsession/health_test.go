package httpsession_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// fakeHealth is a HealthChecker driven by the test.
type fakeHealth struct {
	calls atomic.Int64
	check func(ctx context.Context) error
}

func (f *fakeHealth) Health(ctx context.Context) error {
	f.calls.Add(1)
	return f.check(ctx)
}

// TestHealthHandler: the readiness handler answers 200 while the store is
// healthy, and 503 with Retry-After when it reports an error, when its
// check honours the deadline, and when its check hangs in a call that
// ignores it (a hung NFS server); concurrent probes share one hung check.
func TestHealthHandler(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	// A check that answers gets a minute, far beyond any answer that
	// comes: with the 20 ms that the cases which must time out get, a
	// loaded machine that ran the check's goroutine late made a healthy
	// store read as unavailable ("answers late" plays that machine).
	const answers, timesOut = time.Minute, 20 * time.Millisecond
	tests := []struct {
		name      string
		check     func(ctx context.Context) error
		timeout   time.Duration
		probes    int
		wantCode  int
		wantCalls int64 // 0: not checked
	}{
		{"healthy", func(context.Context) error { return nil }, answers, 1, 200, 1},
		{"healthy, answers late", func(context.Context) error { time.Sleep(200 * time.Millisecond); return nil }, answers, 1, 200, 1},
		{"unavailable", func(context.Context) error { return errors.New("store unavailable") }, answers, 1, 503, 1},
		{"deadline", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, timesOut, 1, 503, 1},
		{"hung", func(context.Context) error { <-hang; return nil }, timesOut, 8, 503, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeHealth{check: tt.check}
			h := httpsession.HealthHandler(f, tt.timeout)
			var wg sync.WaitGroup
			recs := make([]*httptest.ResponseRecorder, tt.probes)
			for i := range recs {
				recs[i] = httptest.NewRecorder()
				wg.Add(1)
				go func() {
					defer wg.Done()
					h.ServeHTTP(recs[i], httptest.NewRequest("GET", "/readyz", nil))
				}()
			}
			wg.Wait()
			for _, rec := range recs {
				if rec.Code != tt.wantCode {
					t.Errorf("status %d, want %d", rec.Code, tt.wantCode)
				}
				if tt.wantCode == 503 && rec.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				if strings.Contains(rec.Body.String(), "store") {
					t.Errorf("body %q carries the error", rec.Body)
				}
			}
			// A probe that gave up may return before the check's
			// goroutine, started before it waited, has run: wait for
			// that goroutine (the count never goes down), then count.
			got := f.calls.Load()
			for deadline := time.Now().Add(time.Minute); got < tt.wantCalls && time.Now().Before(deadline); got = f.calls.Load() {
				time.Sleep(time.Millisecond) // polling for an event, bounded above
			}
			if got != tt.wantCalls {
				t.Errorf("%d checks for %d concurrent probes, want %d", got, tt.probes, tt.wantCalls)
			}
		})
	}
}

// TestHealthHandlerRecovers: once a hung check returns, the next probe
// checks again and reports healthy.
func TestHealthHandlerRecovers(t *testing.T) {
	release := make(chan struct{})
	var healthy atomic.Bool
	f := &fakeHealth{check: func(context.Context) error {
		if healthy.Load() {
			return nil
		}
		<-release
		return errors.New("server did not answer")
	}}
	h := httpsession.HealthHandler(f, 20*time.Millisecond)
	probe := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/readyz", nil))
		return rec.Code
	}
	if got := probe(); got != http.StatusServiceUnavailable {
		t.Fatalf("hung: status %d, want 503", got)
	}
	healthy.Store(true)
	close(release)
	// The hung check ends in its goroutine; poll until a probe starts a
	// fresh one (no event to wait on from outside the handler).
	deadline := time.Now().Add(time.Minute)
	for probe() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("still unhealthy a minute after the store answered again")
		}
		time.Sleep(time.Millisecond)
	}
}
