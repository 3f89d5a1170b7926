package echosession_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
)

// TestNilSessionOutsideMiddleware checks that the session of a route
// registered outside the middleware panics, on first use, with a message
// naming the missing middleware rather than a bare nil dereference.
func TestNilSessionOutsideMiddleware(t *testing.T) {
	c := echo.New().NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	s := echosession.FromContext(c)
	if s != nil {
		t.Fatalf("FromContext outside the middleware = %v, want nil", s)
	}
	var msg string
	func() {
		defer func() { msg = fmt.Sprint(recover()) }()
		s.GetString("user")
	}()
	if !strings.HasPrefix(msg, "httpsession: no session in this request's context") || !strings.Contains(msg, "echosession") {
		t.Errorf("panic %q, want one naming the missing middleware", msg)
	}
}
