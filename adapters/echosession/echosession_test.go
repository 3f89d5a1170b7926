package echosession_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// counterApp serves the webtest counter protocol on an echo server.
func counterApp(m *httpsession.Manager) *echo.Echo {
	e := echo.New()
	e.Use(echosession.Handler(m))
	e.POST("/inc", func(c echo.Context) error {
		s := echosession.FromContext(c)
		n := s.GetInt("n") + 1
		if err := s.Put("n", n); err != nil {
			return err
		}
		return c.String(http.StatusOK, strconv.Itoa(n))
	})
	e.GET("/n", func(c echo.Context) error {
		return c.String(http.StatusOK, strconv.Itoa(echosession.FromContext(c).GetInt("n")))
	})
	return e
}

func openApp(dir string) (http.Handler, func() error, error) {
	st, err := fsstore.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	return counterApp(httpsession.New(st)), st.Close, nil
}

// TestInstance is one app process of TestConcurrentIncrementsAcrossInstances.
func TestInstance(t *testing.T) { webtest.Instance(t, openApp) }

// TestConcurrentIncrementsAcrossInstances: two echo app processes on one
// session directory, one user's increments sent to both at once; none is
// lost.
func TestConcurrentIncrementsAcrossInstances(t *testing.T) {
	webtest.CheckNoneLost(t, webtest.Start(t, "TestInstance", t.TempDir(), 2))
}

func newManager(t *testing.T, opts ...fsstore.Option) *httpsession.Manager {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), append([]fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return httpsession.New(st)
}

// sessionCookie is the session's cookie that r set, or nil.
func sessionCookie(r webtest.Response) *http.Cookie {
	return r.Cookie(httpsession.DefaultCookie().Name)
}

// TestCommitThroughEchoResponse: however an echo handler answers (a
// returned error included, which echo renders after the middleware
// returned), the session it changed is saved and its cookie goes out.
func TestCommitThroughEchoResponse(t *testing.T) {
	put := func(c echo.Context) {
		if err := echosession.FromContext(c).Put("n", 1); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name    string
		handler echo.HandlerFunc
		code    int
	}{
		{"String", func(c echo.Context) error { put(c); return c.String(http.StatusOK, "ok") }, http.StatusOK},
		{"JSON", func(c echo.Context) error { put(c); return c.JSON(http.StatusCreated, map[string]bool{"ok": true}) }, http.StatusCreated},
		{"NoContent", func(c echo.Context) error { put(c); return c.NoContent(http.StatusNoContent) }, http.StatusNoContent},
		{"Redirect", func(c echo.Context) error { put(c); return c.Redirect(http.StatusFound, "/n") }, http.StatusFound},
		{"Stream", func(c echo.Context) error {
			put(c)
			return c.Stream(http.StatusOK, "text/plain", strings.NewReader("ok"))
		}, http.StatusOK},
		{"Flush", func(c echo.Context) error {
			put(c)
			c.Response().WriteHeader(http.StatusOK)
			c.Response().Flush()
			_, err := fmt.Fprint(c.Response(), "ok")
			return err
		}, http.StatusOK},
		{"returned HTTPError", func(c echo.Context) error { put(c); return echo.NewHTTPError(http.StatusTeapot, "no") }, http.StatusTeapot},
		{"nothing written", func(c echo.Context) error { put(c); return nil }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(echosession.Handler(newManager(t)))
			e.GET("/", tt.handler)
			e.GET("/n", func(c echo.Context) error {
				return c.String(http.StatusOK, strconv.Itoa(echosession.FromContext(c).GetInt("n")))
			})
			w := webtest.Send(t, e, "GET", "/", nil)
			if w.Code != tt.code {
				t.Fatalf("status %d %q, want %d", w.Code, w.Body, tt.code)
			}
			c := sessionCookie(w)
			if c == nil {
				t.Fatalf("no session cookie in %v", w.Header)
			}
			if got := webtest.Send(t, e, "GET", "/n", c).Body; got != "1" {
				t.Errorf("next request reads n = %q, want 1", got)
			}
		})
	}
}

// TestSaveFailureReplacesResponse: when the session cannot be saved, the
// Manager's error handler answers instead of the handler, echo's error
// handler adds nothing, and outer middlewares see the status sent.
func TestSaveFailureReplacesResponse(t *testing.T) {
	e := echo.New()
	var outerStatus int
	var handlerErr error
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			outerStatus = c.Response().Status
			return err
		}
	})
	e.Use(echosession.Handler(newManager(t, fsstore.WithMaxSize(64))))
	e.GET("/", func(c echo.Context) error {
		if err := echosession.FromContext(c).Put("big", strings.Repeat("x", 1024)); err != nil {
			t.Errorf("Put: %v", err)
		}
		handlerErr = c.String(http.StatusOK, "saved")
		return handlerErr
	})
	w := webtest.Send(t, e, "GET", "/", nil)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body, "saved") {
		t.Errorf("got %d %q, want the error handler's 500", w.Code, w.Body)
	}
	if strings.Count(w.Body, "Internal Server Error") != 1 {
		t.Errorf("body %q: want one error message", w.Body)
	}
	if handlerErr == nil {
		t.Error("the handler's write succeeded after the failed save")
	}
	if outerStatus != http.StatusInternalServerError {
		t.Errorf("outer middleware sees status %d, want 500", outerStatus)
	}
	if c := sessionCookie(w); c != nil {
		t.Errorf("cookie %v set for a session that was not saved", c)
	}
}

// TestGroupMode: a group's Middleware sets the mode of its routes under
// the server's Handler.
func TestGroupMode(t *testing.T) {
	m := newManager(t)
	e := echo.New()
	e.Use(echosession.Handler(m))
	var modes []httpsession.Mode
	record := func(c echo.Context) error {
		modes = append(modes, echosession.FromContext(c).Mode())
		return nil
	}
	e.GET("/", record)
	e.Group("/ro", echosession.Middleware(m, httpsession.ReadOnly)).GET("", record)
	webtest.Send(t, e, "GET", "/", nil)
	webtest.Send(t, e, "GET", "/ro", nil)
	if len(modes) != 2 || modes[0] != httpsession.Exclusive || modes[1] != httpsession.ReadOnly {
		t.Errorf("modes %v, want [Exclusive ReadOnly]", modes)
	}
}

func TestInvalidModeAnswersOnce(t *testing.T) {
	e := echo.New()
	e.Use(echosession.Middleware(newManager(t), httpsession.Mode(99)))
	ran := false
	e.GET("/", func(c echo.Context) error { ran = true; return c.String(http.StatusOK, "handler") })
	w := webtest.Send(t, e, "GET", "/", nil)
	if ran || w.Code != http.StatusInternalServerError {
		t.Errorf("handler ran %v, status %d %q: want 500 from the error handler only", ran, w.Code, w.Body)
	}
}

func TestFromContextWithoutMiddleware(t *testing.T) {
	e := echo.New()
	var s *httpsession.Session
	e.GET("/", func(c echo.Context) error { s = echosession.FromContext(c); return nil })
	webtest.Send(t, e, "GET", "/", nil)
	if s != nil {
		t.Error("a session without the middleware")
	}
}
