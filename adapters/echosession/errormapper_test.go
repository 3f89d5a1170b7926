package echosession_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A middleware that maps a handler's error to an answer (here a domain
// error to a 403) works inside echosession, as without it; outside, the
// error was rendered inside echosession already (a 500), as the package
// doc says.
func TestErrorMappingMiddlewareGoesInside(t *testing.T) {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := httpsession.New(st)
	errNotAllowed := errors.New("not allowed")
	mapper := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := next(c); errors.Is(err, errNotAllowed) {
				return echo.NewHTTPError(http.StatusForbidden, "forbidden")
			} else {
				return err
			}
		}
	}
	for _, tc := range []struct {
		name  string
		chain []echo.MiddlewareFunc
		code  int
	}{
		{"without echosession", []echo.MiddlewareFunc{mapper}, http.StatusForbidden},
		{"mapper inside echosession", []echo.MiddlewareFunc{echosession.Handler(m), mapper}, http.StatusForbidden},
		{"mapper outside echosession", []echo.MiddlewareFunc{mapper, echosession.Handler(m)}, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.Use(tc.chain...)
			e.GET("/", func(c echo.Context) error { return errNotAllowed })
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != tc.code {
				t.Errorf("status %d; want %d", w.Code, tc.code)
			}
		})
	}
}
