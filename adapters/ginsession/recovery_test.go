package ginsession_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestPanicRecoveredOutside: a handler panics and a recovery middleware
// registered before the session middleware answers, as gin apps usually
// arrange them. The recovery's answer goes out as it wrote it, not the
// session's error handler's; the session is not saved (the handler did not
// finish), as with httpsession alone; and no handler after the one that
// panicked runs outside the session, even when the recovery does not
// abort.
func TestPanicRecoveredOutside(t *testing.T) {
	tests := []struct {
		name     string
		recovery gin.HandlerFunc
		code     int
		body     string
	}{
		{"Recovery", gin.RecoveryWithWriter(io.Discard), http.StatusInternalServerError, ""},
		{"CustomRecovery JSON", gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "oops"})
		}), http.StatusInternalServerError, `{"error":"oops"}`},
		{"CustomRecovery without abort", gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
			c.String(http.StatusBadGateway, "recovered")
		}), http.StatusBadGateway, "recovered"},
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
			r := gin.New()
			r.Use(tt.recovery)
			r.Use(ginsession.Handler(m))
			put := func(c *gin.Context, n int) {
				if err := ginsession.FromContext(c).Put("n", n); err != nil {
					t.Errorf("Put: %v", err)
				}
			}
			r.GET("/set", func(c *gin.Context) { put(c, 1); c.String(http.StatusOK, "ok") })
			ranAfter := false
			r.GET("/panic",
				func(c *gin.Context) { put(c, 2); panic("boom") },
				func(c *gin.Context) { ranAfter = true; c.String(http.StatusOK, "after the panic") })
			r.GET("/n", func(c *gin.Context) { c.String(http.StatusOK, "%d", ginsession.FromContext(c).GetInt("n")) })

			cookie := sessionCookie(webtest.Send(t, r, "GET", "/set", nil))
			if cookie == nil {
				t.Fatal("no session cookie")
			}
			w := webtest.Send(t, r, "GET", "/panic", cookie)
			if w.Code != tt.code || w.Body != tt.body {
				t.Errorf("got %d %q, want the recovery's %d %q", w.Code, w.Body, tt.code, tt.body)
			}
			if c := sessionCookie(w); c != nil {
				t.Errorf("cookie %v set by a handler that panicked", c)
			}
			if ranAfter {
				t.Error("the handler after the one that panicked ran")
			}
			if strings.Contains(log.String(), "level=ERROR") {
				t.Errorf("error logged: %s", log.String())
			}
			if got := webtest.Send(t, r, "GET", "/n", cookie).Body; got != "1" {
				t.Errorf("next request reads n = %q, want 1 (the panicking handler's change not saved)", got)
			}
		})
	}
}
