package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
)

// A 5xx whose headers go out on Flush (gin writes its kept status in
// Flush) saves nothing either.
func TestFlushedServerErrorSavesNothing(t *testing.T) {
	for name, flush := range map[string]func(c *gin.Context){
		"Writer.Flush":       func(c *gin.Context) { c.Writer.Flush() },
		"ResponseController": func(c *gin.Context) { _ = http.NewResponseController(c.Writer).Flush() },
	} {
		t.Run(name, func(t *testing.T) {
			r := gin.New()
			r.Use(ginsession.Handler(plainManager(t)))
			r.GET("/", func(c *gin.Context) {
				if err := ginsession.FromContext(c).Put("user", "ada"); err != nil {
					t.Fatal(err)
				}
				c.Status(http.StatusServiceUnavailable)
				flush(c)
			})
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d", w.Code)
			}
			if c := w.Result().Cookies(); len(c) > 0 {
				t.Errorf("answered 503, yet the change was saved: cookie %v", c)
			}
		})
	}
}
