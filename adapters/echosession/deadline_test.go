package echosession_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestDeadlineReleasesLock: a request deadline that echo's ContextTimeout
// sets before the session middleware, as docs/frameworks.md says to,
// bounds how long a request holds its session's lock: a handler still
// running past it (a slow upstream call) lets the user's next request in,
// which is served rather than waiting out the lock timeout (30 s) for a
// 503, and the slow handler's later change fails with ErrReleased.
func TestDeadlineReleasesLock(t *testing.T) {
	webtest.DeadlineReleasesLock(t, func(d time.Duration, slow webtest.SlowRoute) *httptest.Server {
		m := newManager(t)
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
			slow.Entered <- err
			if err != nil {
				return err
			}
			<-slow.Proceed
			slow.PutErr <- s.Put("n", 100)
			return nil
		})
		return httptest.NewServer(e)
	})
}
