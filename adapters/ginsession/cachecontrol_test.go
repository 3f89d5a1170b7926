package ginsession_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestSessionCookieKeptFromSharedCaches: however a gin handler answers,
// a response that sets the session's cookie carries Cache-Control: private
// and Vary: Cookie, as httpsession's own responses do, also when the
// handler (or a middleware inside this one, such as a gzip one) set Vary
// or a Cache-Control that lets shared caches store it.
func TestSessionCookieKeptFromSharedCaches(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("file contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	put := func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("n", 1); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name    string
		handler gin.HandlerFunc
	}{
		{"String", func(c *gin.Context) { put(c); c.String(http.StatusOK, "ok") }},
		{"Status only", func(c *gin.Context) { put(c); c.Status(http.StatusNoContent) }},
		{"public Cache-Control", func(c *gin.Context) {
			put(c)
			c.Header("Cache-Control", "public, max-age=60")
			c.String(http.StatusOK, "ok")
		}},
		{"Vary set", func(c *gin.Context) {
			put(c)
			c.Header("Vary", "Accept-Encoding") // as gin-contrib/gzip does
			c.String(http.StatusOK, "ok")
		}},
		{"File", func(c *gin.Context) { put(c); c.File(file) }},
		{"Stream", func(c *gin.Context) {
			put(c)
			c.Stream(func(w io.Writer) bool { io.WriteString(w, "event\n"); return false })
		}},
		{"Redirect", func(c *gin.Context) { put(c); c.Redirect(http.StatusFound, "/n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.Use(ginsession.Handler(newManager(t)))
			r.GET("/x", tt.handler)
			resp := webtest.Send(t, r, "GET", "/x", nil)
			if sessionCookie(resp) == nil {
				t.Fatalf("status %d, no session cookie: %q", resp.Code, resp.Header.Values("Set-Cookie"))
			}
			webtest.CheckPrivate(t, resp.Header)
		})
	}
}
