package webtest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// SlowRoute is the test's hold on an application's GET /slow, a handler
// that runs on past its request's deadline (a slow upstream call): it
// reads the session (which locks it), sends that read's error on Entered,
// returns if it failed, waits for Proceed to be closed, then sends the
// error of a Put on PutErr.
type SlowRoute struct {
	Entered chan error    // nil: the slow handler locked the session
	Proceed chan struct{} // closed when the slow handler may go on
	PutErr  chan error    // its Put once it went on
}

// DeadlineReleasesLock checks that a request deadline bounds how long a
// request holds its session's lock, as docs/frameworks.md says for each
// framework: with the slow handler past its deadline, the user's next
// request is served (200, the counter GET /n counts up to: 2) rather than
// waiting out the lock timeout (30 s) for a 503, and the slow handler's
// later Put fails with ErrReleased.
//
// serve starts the application with a deadline of d on GET /slow and
// returns its server, which DeadlineReleasesLock closes. GET /n adds one
// to the session's counter "n" and answers its new value in decimal. The
// slow handler must lock the session before its deadline: where it did
// not (a loaded machine), the check is run again with a later deadline.
func DeadlineReleasesLock(t *testing.T, serve func(d time.Duration, slow SlowRoute) *httptest.Server) {
	t.Helper()
	for d := 100 * time.Millisecond; !deadlineReleasesLock(t, d, serve); d *= 4 {
		if d > 10*time.Second {
			t.Fatalf("the slow handler never locked its session before a deadline of %v", d)
		}
	}
}

func deadlineReleasesLock(t *testing.T, d time.Duration, serve func(time.Duration, SlowRoute) *httptest.Server) (shown bool) {
	t.Helper()
	slow := SlowRoute{Entered: make(chan error, 1), Proceed: make(chan struct{}), PutErr: make(chan error, 1)}
	srv := serve(d, slow)
	defer srv.Close()
	get := func(path string, cookie *http.Cookie) (*http.Response, error) {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			return nil, err
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		return srv.Client().Do(req)
	}
	first, err := get("/n", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	var cookie *http.Cookie
	for _, c := range first.Cookies() {
		if c.Name == httpsession.DefaultCookie().Name {
			cookie = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	if cookie == nil {
		t.Fatalf("status %d, no session cookie", first.StatusCode)
	}
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		if resp, err := get("/slow", cookie); err == nil {
			resp.Body.Close()
		}
	}()
	defer func() { <-slowDone }()
	if err := <-slow.Entered; err != nil {
		close(slow.Proceed)
		return false
	}
	// The slow handler holds the lock and runs on past its deadline.
	resp, err := get("/n", cookie)
	if err != nil {
		close(slow.Proceed)
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	resp.Body.Close()
	close(slow.Proceed)
	if resp.StatusCode != http.StatusOK || body.String() != "2" {
		t.Errorf("the user's next request, while the slow one ran past its deadline: status %d %q; want 200, 2", resp.StatusCode, body.String())
	}
	if err := <-slow.PutErr; !errors.Is(err, httpsession.ErrReleased) {
		t.Errorf("the slow handler's Put after its deadline: %v; want ErrReleased", err)
	}
	return true
}
