package echosession_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestPanicRecoveredOutside: a handler panics and middleware.Recover,
// outside the session middleware, has echo's HTTPErrorHandler answer
// (itself, or by returning the error). The error handler's answer goes out
// through echo's own Response, not the session's error handler's; the
// session is not saved (the handler did not finish), as with httpsession
// alone; and the middlewares outside see the status sent.
func TestPanicRecoveredOutside(t *testing.T) {
	const echoError = `{"message":"Internal Server Error"}` + "\n"
	tests := []struct {
		name    string
		recover middleware.RecoverConfig
	}{
		{"Recover", middleware.RecoverConfig{DisablePrintStack: true}},
		{"Recover returning the error", middleware.RecoverConfig{DisablePrintStack: true, DisableErrorHandler: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			var log bytes.Buffer
			m := httpsession.New(st, httpsession.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
			e := echo.New()
			var seen int
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					err := next(c)
					seen = c.Response().Status
					return err
				}
			})
			e.Use(middleware.RecoverWithConfig(tt.recover))
			e.Use(echosession.Handler(m))
			put := func(c echo.Context, n int) {
				if err := echosession.FromContext(c).Put("n", n); err != nil {
					t.Errorf("Put: %v", err)
				}
			}
			e.GET("/set", func(c echo.Context) error { put(c, 1); return c.String(http.StatusOK, "ok") })
			e.GET("/panic", func(c echo.Context) error { put(c, 2); panic("boom") })
			e.GET("/n", func(c echo.Context) error {
				return c.String(http.StatusOK, strconv.Itoa(echosession.FromContext(c).GetInt("n")))
			})

			cookie := sessionCookie(webtest.Send(t, e, "GET", "/set", nil))
			if cookie == nil {
				t.Fatal("no session cookie")
			}
			w := webtest.Send(t, e, "GET", "/panic", cookie)
			if w.Code != http.StatusInternalServerError || w.Body != echoError {
				t.Errorf("got %d %q, want echo's error handler's 500 %q", w.Code, w.Body, echoError)
			}
			if c := sessionCookie(w); c != nil {
				t.Errorf("cookie %v set by a handler that panicked", c)
			}
			// A returned error is rendered after every middleware returned.
			if !tt.recover.DisableErrorHandler && seen != http.StatusInternalServerError {
				t.Errorf("outer middleware saw status %d, want 500", seen)
			}
			if strings.Contains(log.String(), "level=ERROR") {
				t.Errorf("error logged: %s", log.String())
			}
			if got := webtest.Send(t, e, "GET", "/n", cookie).Body; got != "1" {
				t.Errorf("next request reads n = %q, want 1 (the panicking handler's change not saved)", got)
			}
		})
	}
}
