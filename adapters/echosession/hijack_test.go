package echosession_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A Hijack over HTTP/2 fails before committing anything under echosession
// too, although echo's Response always has a Hijack method: the fallback
// answer can still Renew, and nothing was saved before it.
func TestFailedHijackOverHTTP2(t *testing.T) {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := httpsession.New(st)
	e := echo.New()
	e.Use(echosession.Handler(m))
	e.GET("/login", func(c echo.Context) error {
		echosession.FromContext(c).Put("n", 1)
		return c.String(http.StatusOK, "ok")
	})
	var proto, saved, id string
	var hijackErr, renewErr error
	e.GET("/ws", func(c echo.Context) error {
		s := echosession.FromContext(c)
		s.Put("n", 99)
		proto = c.Request().Proto
		_, _, hijackErr = c.Response().Hijack()
		if sess, err := st.Load(c.Request().Context(), id); err == nil {
			saved = string(sess.Data)
		}
		renewErr = s.Renew()
		return c.String(http.StatusOK, "use long polling")
	})
	srv := httptest.NewUnstartedServer(e)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == httpsession.DefaultCookie().Name {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no cookie")
	}
	id = cookie.Value
	req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
	req.AddCookie(cookie)
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if proto != "HTTP/2.0" {
		t.Skipf("request came over %s", proto)
	}
	if !errors.Is(hijackErr, http.ErrNotSupported) {
		t.Fatalf("Hijack: %v, want ErrNotSupported", hijackErr)
	}
	if strings.Contains(saved, "99") || renewErr != nil {
		t.Errorf("a Hijack that failed on HTTP/2 committed the session first: saved %q, Renew after it: %v", saved, renewErr)
	}
}
