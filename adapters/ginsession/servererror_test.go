package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
)

// A server error answer saves nothing, however gin writes it: with
// AbortWithStatus, a body (String, JSON: gin keeps the status until the
// first byte) or a status alone at the end of the chain.
func TestServerErrorAnswersSaveNothing(t *testing.T) {
	answers := map[string]func(c *gin.Context){
		"AbortWithStatus": func(c *gin.Context) { c.AbortWithStatus(http.StatusServiceUnavailable) },
		"String":          func(c *gin.Context) { c.String(http.StatusServiceUnavailable, "busy, try again") },
		"JSON":            func(c *gin.Context) { c.JSON(http.StatusServiceUnavailable, gin.H{"error": "busy"}) },
		"Status":          func(c *gin.Context) { c.Status(http.StatusServiceUnavailable) },
	}
	for name, answer := range answers {
		r := gin.New()
		r.Use(ginsession.Handler(plainManager(t)))
		r.GET("/", func(c *gin.Context) {
			if err := ginsession.FromContext(c).Put("user", "ada"); err != nil {
				t.Fatal(err)
			}
			answer(c)
		})
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d", name, w.Code)
		}
		if c := w.Result().Cookies(); len(c) > 0 {
			t.Errorf("%s: the 503 carries a session cookie %v: the change was saved", name, c)
		}
	}
}
