package ginsession_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/internal/webtest"
)

// TestStreamUnderManagerHandler: with httpsession's Handler around the
// whole engine (which docs/frameworks.md says works too), gin's writer
// wraps the session's, and Context.Stream asserts http.CloseNotifier on
// it without checking.
func TestStreamUnderManagerHandler(t *testing.T) {
	m := newManager(t)
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		c.Stream(func(w io.Writer) bool { io.WriteString(w, "event\n"); return false })
	})
	if w := webtest.Send(t, m.Handler(r), "GET", "/", nil); w.Code != http.StatusOK || w.Body != "event\n" {
		t.Fatalf("status %d, body %q; want 200 and the streamed event", w.Code, w.Body)
	}
}
