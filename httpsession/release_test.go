package httpsession_test

import (
	"runtime/metrics"
	"strconv"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// goroutinesCreated returns how many goroutines the program has started.
func goroutinesCreated(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("this Go runtime does not count the goroutines it creates")
	}
	return s[0].Value.Uint64()
}

// TestReleaseStartsNoGoroutineOnLocalStores: on a store that is not
// bounded (a local filesystem, by default), a request's lock is released
// on the request's own goroutine. A bounded store hands the release to a
// goroutine of its own, so that the response does not wait for a file
// server that stopped answering; on a local disk that hand-off cost every
// request a goroutine and a thread wake-up, more than the release itself.
func TestReleaseStartsNoGoroutineOnLocalStores(t *testing.T) {
	const n = 50
	tests := []struct {
		name      string
		opts      []fsstore.Option
		wantBound bool
	}{
		{"local", nil, false},
		{"bounded", []fsstore.Option{fsstore.WithMaxInFlight(4)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			if e.st.Bounded() != tt.wantBound {
				t.Skipf("the store in %s is bounded=%v (a network filesystem?); this case needs %v", e.st.Dir(), e.st.Bounded(), tt.wantBound)
			}
			h := e.m.Handler(counter())
			id := mustCookie(t, do(t, h, "")).Value
			before := goroutinesCreated(t)
			for i := range n {
				if got, want := body(t, do(t, h, id)), strconv.Itoa(i+2); got != want {
					t.Fatalf("request %d answered %q, want %q", i, got, want)
				}
			}
			created := goroutinesCreated(t) - before
			if !tt.wantBound && created >= n/2 {
				t.Errorf("%d locked requests on a local store started %d goroutines, want none of their own", n, created)
			}
			if tt.wantBound && created < n {
				t.Errorf("%d locked requests on a bounded store started %d goroutines, want at least one each (the release)", n, created)
			}
		})
	}
}
