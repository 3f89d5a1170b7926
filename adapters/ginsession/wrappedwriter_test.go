package ginsession_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
)

// bodyLogWriter is gin's common "log the response body" middleware, which
// replaces c.Writer and does not put it back.
type bodyLogWriter struct {
	gin.ResponseWriter
	body *bytes.Buffer
}

func (w bodyLogWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// With such a middleware inside ginsession, a status-only 5xx (c.Status,
// nothing written) saves nothing either.
func TestStatusOnly5xxUnderWrappedWriter(t *testing.T) {
	r := gin.New()
	r.Use(ginsession.Handler(plainManager(t)))
	r.Use(func(c *gin.Context) {
		c.Writer = bodyLogWriter{ResponseWriter: c.Writer, body: new(bytes.Buffer)}
		c.Next()
	})
	r.GET("/", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("user", "ada"); err != nil {
			t.Fatal(err)
		}
		c.Status(http.StatusServiceUnavailable)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", w.Code)
	}
	if c := w.Result().Cookies(); len(c) > 0 {
		t.Errorf("answered 503, yet the change was saved: cookie %v", c)
	}
}
