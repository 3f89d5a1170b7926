package httpsession_test

import (
	"net/http"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
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

// The cookie a Release committed goes out under a writer with a header
// map of its own (http.TimeoutHandler here), which copies its map over
// the middleware's when the handler returns: when the handler set a cookie
// of its own, that replaced the renewed session's cookie, whose old record
// is already gone, and the user was logged out.
func TestReleaseCookieUnderTimeoutHandler(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if err := s.Put("user", "ada"); err != nil {
			t.Error(err)
		}
		if err := s.Renew(); err != nil {
			t.Error(err)
		}
		if err := s.Release(); err != nil {
			t.Error(err)
		}
		http.SetCookie(w, &http.Cookie{Name: "csrf", Value: "t"})
		w.Write([]byte("ok"))
	})
	resp := do(t, e.m.Handler(http.TimeoutHandler(inner, time.Minute, "timeout")), id)
	if c := sessionCookie(resp); c == nil || c.Value == "" || c.Value == id {
		t.Errorf("no renewed session cookie: Set-Cookie %q", resp.Header.Values("Set-Cookie"))
	}
	if n := len(resp.Header.Values("Set-Cookie")); n != 2 {
		t.Errorf("Set-Cookie %q, want the handler's and the session's", resp.Header.Values("Set-Cookie"))
	}
	if holdsSession(e.st, id) {
		t.Error("the old record still holds the session")
	}
}
