//go:build linux

package echosession_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestBadCookieAndFullDisk: through echo, a malformed session cookie is a
// new visitor (200, a fresh well-formed ID), and a save on a full disk is
// the Manager's 503 with Retry-After, without the handler's answer or a
// cookie; the session saved before counts on once space is freed.
func TestBadCookieAndFullDisk(t *testing.T) {
	st, fill := webtest.SmallStore(t)
	r := echo.New()
	r.Use(echosession.Handler(httpsession.New(st)))
	r.GET("/", func(c echo.Context) error {
		s := echosession.FromContext(c)
		n := s.GetInt("n") + 1
		if err := s.Put("n", n); err != nil {
			return err
		}
		return c.String(http.StatusOK, strconv.Itoa(n))
	})
	webtest.BadCookieAndFullDisk(t, r, fill)
}
