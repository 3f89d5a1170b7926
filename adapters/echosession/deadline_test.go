package echosession_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/httpsession"
)

// TestDeadlineReleasesLock: a request deadline that echo's ContextTimeout
// sets before the session middleware, as docs/frameworks.md says to,
// bounds how long a request holds its session's lock: a handler still
// running past it (a slow upstream call) lets the user's next request in,
// which is served rather than waiting out the lock timeout (30 s) for a
// 503, and the slow handler's later change fails with ErrReleased.
func TestDeadlineReleasesLock(t *testing.T) {
	// The slow handler must lock the session before its deadline: one
	// that passed first (a loaded machine) locked nothing. It is run
	// again with a later deadline.
	for d := 100 * time.Millisecond; !deadlineReleasesLock(t, d); d *= 4 {
		if d > 10*time.Second {
			t.Fatalf("the slow handler never locked its session before a deadline of %v", d)
		}
	}
}

func deadlineReleasesLock(t *testing.T, d time.Duration) (shown bool) {
	m := newManager(t)
	entered := make(chan error, 1) // nil: the slow handler locked the session
	proceed := make(chan struct{})
	putErr := make(chan error, 1)
	e := echo.New()
	e.Use(middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{
		Timeout: d,
		Skipper: func(c echo.Context) bool { return c.Request().URL.Path != "/slow" },
	}), echosession.Handler(m))
	e.GET("/n", func(c echo.Context) error {
		s := echosession.FromContext(c)
		if err := s.Put("n", s.GetInt("n")+1); err != nil {
			return err
		}
		return c.String(http.StatusOK, strconv.Itoa(s.GetInt("n")))
	})
	e.GET("/slow", func(c echo.Context) error {
		s := echosession.FromContext(c)
		_, err := s.Get("n", new(int)) // locks the session
		entered <- err
		if err != nil {
			return err
		}
		<-proceed
		putErr <- s.Put("n", 100)
		return nil
	})
	srv := httptest.NewServer(e)
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
	if err := <-entered; err != nil {
		close(proceed)
		return false
	}
	// The slow handler holds the lock and runs on past its deadline.
	resp, err := get("/n", cookie)
	if err != nil {
		close(proceed)
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	resp.Body.Close()
	close(proceed)
	if resp.StatusCode != http.StatusOK || body.String() != "2" {
		t.Errorf("the user's next request, while the slow one ran past its deadline: status %d %q; want 200, 2", resp.StatusCode, body.String())
	}
	if err := <-putErr; !errors.Is(err, httpsession.ErrReleased) {
		t.Errorf("the slow handler's Put after its deadline: %v; want ErrReleased", err)
	}
	return true
}
