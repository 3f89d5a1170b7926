package echosession_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestWrapMiddlewareIsNotTheSame: what docs/frameworks.md says of
// echo.WrapMiddleware(sessions.Handler) against echosession.Handler. A
// handler that changes the session and returns a plain error is answered
// 500 either way; echosession saves nothing (a server error), where under
// WrapMiddleware the session was saved when the handler returned, before
// echo rendered the error, and an outer middleware sees no status yet.
func TestWrapMiddlewareIsNotTheSame(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mw        func(*httpsession.Manager) echo.MiddlewareFunc
		saved     bool
		outerSees int
	}{
		{"echosession.Handler", echosession.Handler, false, http.StatusInternalServerError},
		{"echo.WrapMiddleware", func(m *httpsession.Manager) echo.MiddlewareFunc { return echo.WrapMiddleware(m.Handler) }, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			var outer int
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					err := next(c)
					outer = c.Response().Status
					return err
				}
			})
			e.Use(tc.mw(newManager(t)))
			e.GET("/set", func(c echo.Context) error {
				if err := echosession.FromContext(c).Put("v", "first"); err != nil {
					return err
				}
				return c.NoContent(http.StatusNoContent)
			})
			e.GET("/fail", func(c echo.Context) error {
				if err := echosession.FromContext(c).Put("v", "changed"); err != nil {
					return err
				}
				return errors.New("the handler failed")
			})
			e.GET("/v", func(c echo.Context) error {
				return c.String(http.StatusOK, echosession.FromContext(c).GetString("v"))
			})
			cookie := sessionCookie(webtest.Send(t, e, "GET", "/set", nil))
			if cookie == nil {
				t.Fatal("no cookie")
			}
			if w := webtest.Send(t, e, "GET", "/fail", cookie); w.Code != http.StatusInternalServerError {
				t.Fatalf("a returned error: status %d, want 500", w.Code)
			}
			if outer != tc.outerSees {
				t.Errorf("the outer middleware sees status %d, want %d", outer, tc.outerSees)
			}
			want := "first"
			if tc.saved {
				want = "changed"
			}
			if got := webtest.Send(t, e, "GET", "/v", cookie).Body; got != want {
				t.Errorf("after the 500: v = %q, want %q", got, want)
			}
		})
	}
}
