package ginsession_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/httpsession"
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

// TestOuterCachingAfterNext: a middleware before this one that sets
// caching fields after c.Next, on a response the handler wrote no body to,
// sets them after the session readied the header, and gin sends them as
// they are: it writes such a header once the chain has returned, through
// its own writer, with no hook for this middleware to run after. The
// documented ways keep the session's cookie from shared caches: the outer
// middleware calls Manager.KeepFromSharedCaches after its own fields, or
// the whole engine is wrapped in the httpsession middleware, whose writer
// is under gin's and readies the header as gin writes it.
func TestOuterCachingAfterNext(t *testing.T) {
	setCaching := func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=60")
		h.Set("Surrogate-Control", "max-age=60")
	}
	for _, tc := range []struct {
		name string
		app  func(m *httpsession.Manager, route gin.HandlerFunc) http.Handler
	}{
		{"KeepFromSharedCaches after the outer fields", func(m *httpsession.Manager, route gin.HandlerFunc) http.Handler {
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				setCaching(c.Writer.Header())
				m.KeepFromSharedCaches(c.Writer.Header())
			}, ginsession.Handler(m))
			r.GET("/x", route)
			return r
		}},
		{"engine wrapped in the httpsession middleware", func(m *httpsession.Manager, route gin.HandlerFunc) http.Handler {
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				setCaching(c.Writer.Header())
			})
			r.GET("/x", route)
			return m.Handler(r)
		}},
	} {
		for _, answer := range []struct {
			name string
			h    gin.HandlerFunc
		}{
			{"Status", func(c *gin.Context) { c.Status(http.StatusNoContent) }},
			{"AbortWithStatus", func(c *gin.Context) {
				c.Header("Location", "/login")
				c.AbortWithStatus(http.StatusFound)
			}},
			{"nothing written", func(*gin.Context) {}},
		} {
			t.Run(tc.name+", "+answer.name, func(t *testing.T) {
				h := tc.app(newManager(t), func(c *gin.Context) {
					if err := ginsession.FromContext(c).Put("n", 1); err != nil {
						t.Error(err)
					}
					answer.h(c)
				})
				resp := webtest.Send(t, h, "GET", "/x", nil)
				if sessionCookie(resp) == nil {
					t.Fatalf("status %d, no session cookie: %q", resp.Code, resp.Header.Values("Set-Cookie"))
				}
				webtest.CheckPrivate(t, resp.Header)
				// AbortWithStatus sends the header at once, before the
				// outer middleware sets its fields.
				if sc := resp.Header.Get("Surrogate-Control"); sc != "no-store" && (sc != "" || answer.name != "AbortWithStatus") {
					t.Errorf("Surrogate-Control %q, want no-store", sc)
				}
			})
		}
	}
}
