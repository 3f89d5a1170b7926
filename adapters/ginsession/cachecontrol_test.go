package ginsession_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
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
			resp := do(t, r, "GET", "/x", nil)
			if resp.cookie() == nil {
				t.Fatalf("status %d, no session cookie: %q", resp.Code, resp.header.Values("Set-Cookie"))
			}
			checkPrivate(t, resp.header)
		})
	}
}

// checkPrivate fails t unless h keeps the response from shared caches and
// varies by cookie.
func checkPrivate(t *testing.T, h http.Header) {
	t.Helper()
	var directives []string
	for _, l := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(l, ",") {
			directives = append(directives, strings.ToLower(strings.TrimSpace(d)))
		}
	}
	if !slices.Contains(directives, "private") || slices.Contains(directives, "public") {
		t.Errorf("Cache-Control %q, want private (and no public)", h.Values("Cache-Control"))
	}
	var vary []string
	for _, l := range h.Values("Vary") {
		for v := range strings.SplitSeq(l, ",") {
			vary = append(vary, strings.ToLower(strings.TrimSpace(v)))
		}
	}
	if !slices.Contains(vary, "cookie") {
		t.Errorf("Vary %q, want Cookie among them", h.Values("Vary"))
	}
}
