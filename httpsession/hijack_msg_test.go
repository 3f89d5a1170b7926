package httpsession_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A Hijack whose session could not be loaded (the lock wait timed out:
// another tab holds it) fails for that reason; the error does not claim a
// cookie problem, which it names only for a session that needs one.
func TestHijackLoadErrorMessage(t *testing.T) {
	var (
		mu  sync.Mutex
		got error
	)
	e := newEnv(t, nil, httpsession.WithLockTimeout(50*time.Millisecond),
		httpsession.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			got = err
			mu.Unlock()
			http.Error(w, "unavailable", httpsession.StatusCode(err))
		}))
	id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
	lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).GetString("user") // lock wait times out
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
	}))
	srv := serve(t, h)
	resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
	body(t, resp)
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusServiceUnavailable || got == nil {
		t.Fatalf("status %d, error handler got %v", resp.StatusCode, got)
	}
	if strings.Contains(got.Error(), "cannot set the session's cookie") {
		t.Errorf("a lock timeout is reported as a cookie problem: %v", got)
	}
}
