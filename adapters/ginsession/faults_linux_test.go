//go:build linux

package ginsession_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestBadCookieAndFullDisk: through gin, a malformed session cookie is a
// new visitor (200, a fresh well-formed ID), and a save on a full disk is
// the Manager's 503 with Retry-After, without the handler's answer or a
// cookie; the session saved before counts on once space is freed.
func TestBadCookieAndFullDisk(t *testing.T) {
	st, fill := webtest.SmallStore(t)
	r := gin.New()
	r.Use(ginsession.Handler(httpsession.New(st)))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.FromContext(c)
		n := s.GetInt("n") + 1
		if err := s.Put("n", n); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "%d", n)
	})
	webtest.BadCookieAndFullDisk(t, r, fill)
}
