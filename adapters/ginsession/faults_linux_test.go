//go:build linux

package ginsession_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestBadCookieAndFullDisk: through gin, a malformed session cookie is a
// new visitor (200, a fresh well-formed ID), and a save on a full disk is
// the Manager's 503 with Retry-After, without the handler's answer or a
// cookie; the session saved before counts on once space is freed.
func TestBadCookieAndFullDisk(t *testing.T) {
	mnt := testenv.MountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	webtest.BadCookieAndFullDisk(t, r, func() func() { return testenv.FillUp(t, mnt) })
}
