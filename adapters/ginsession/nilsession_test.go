package ginsession_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
)

// TestNilSessionOutsideMiddleware checks that the session of a route
// registered outside the middleware panics, on first use, with a message
// naming the missing middleware rather than a bare nil dereference.
func TestNilSessionOutsideMiddleware(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/", nil)
	s := ginsession.FromContext(c)
	if s != nil {
		t.Fatalf("FromContext outside the middleware = %v, want nil", s)
	}
	var msg string
	func() {
		defer func() { msg = fmt.Sprint(recover()) }()
		s.GetString("user")
	}()
	if !strings.HasPrefix(msg, "httpsession: no session in this request's context") || !strings.Contains(msg, "ginsession") {
		t.Errorf("panic %q, want one naming the missing middleware", msg)
	}
}

// TestNilSessionRouteBeforeUse checks that the panic of a route registered
// before r.Use(ginsession.Handler(...)), which gin leaves outside the
// middleware although the program calls Use, tells the developer so: the
// message must not leave them checking a Use call that is there.
func TestNilSessionRouteBeforeUse(t *testing.T) {
	sessions := newManager(t)
	r := gin.New()
	var msg string
	r.GET("/early", func(c *gin.Context) {
		defer func() { msg = fmt.Sprint(recover()) }()
		ginsession.FromContext(c).GetString("user")
	})
	r.Use(ginsession.Handler(sessions))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/early", nil))
	if !strings.Contains(msg, "registered after") {
		t.Errorf("panic %q, want one saying that gin's Use covers only the routes registered after it", msg)
	}
}
