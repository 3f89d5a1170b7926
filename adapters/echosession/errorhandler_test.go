package echosession_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// An error page rendered by a custom HTTPErrorHandler (the logged-in user,
// a flash) reads and changes the session, as it can with
// echo-contrib/session: the error is rendered while the session is live,
// also for a route that never touched it (a 404, a guard's 403), and the
// change is saved with that answer.
func TestErrorHandlerSeesSession(t *testing.T) {
	e := echo.New()
	var got string
	var putErr error
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		s := echosession.FromContext(c)
		got = s.GetString("user")
		putErr = s.Put("flash", "that page does not exist")
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(echosession.Handler(newManager(t)))
	e.GET("/login", func(c echo.Context) error {
		if err := echosession.FromContext(c).Put("user", "alice"); err != nil {
			return err
		}
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/missing", func(c echo.Context) error { return echo.ErrNotFound })
	c := sessionCookie(webtest.Send(t, e, "GET", "/login", nil))
	if c == nil {
		t.Fatal("no cookie")
	}
	w := webtest.Send(t, e, "GET", "/missing", c)
	if w.Code != http.StatusNotFound {
		t.Fatalf("status %d", w.Code)
	}
	if got != "alice" {
		t.Errorf("error handler read user %q, want alice", got)
	}
	if putErr != nil {
		t.Fatalf("error handler's Put: %v", putErr)
	}
	var flash string
	e.GET("/flash", func(c echo.Context) error {
		flash = echosession.FromContext(c).GetString("flash")
		return c.NoContent(http.StatusNoContent)
	})
	if next := sessionCookie(w); next != nil {
		c = next
	}
	webtest.Send(t, e, "GET", "/flash", c)
	if flash == "" {
		t.Error("the error handler's flash was not saved")
	}
}
