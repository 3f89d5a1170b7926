package ginsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestDeadlineReleasesLock: a request deadline set around the gin engine,
// as docs/frameworks.md says to, bounds how long a request holds its
// session's lock: a handler still running past it (a slow upstream call)
// lets the user's next request in, which is served rather than waiting
// out the lock timeout (30 s) for a 503, and the slow handler's later
// change fails with ErrReleased.
func TestDeadlineReleasesLock(t *testing.T) {
	webtest.DeadlineReleasesLock(t, func(d time.Duration, slow webtest.SlowRoute) *httptest.Server {
		m := newManager(t)
		r := gin.New()
		r.Use(ginsession.Handler(m))
		r.GET("/n", func(c *gin.Context) {
			s := ginsession.FromContext(c)
			if err := s.Put("n", s.GetInt("n")+1); err != nil {
				c.AbortWithStatus(httpsession.StatusCode(err))
				return
			}
			c.String(http.StatusOK, "%d", s.GetInt("n"))
		})
		r.GET("/slow", func(c *gin.Context) {
			s := ginsession.FromContext(c)
			_, err := s.Get("n", new(int)) // locks the session
			slow.Entered <- err
			if err != nil {
				return
			}
			<-slow.Proceed
			slow.PutErr <- s.Put("n", 100)
		})
		// The deadline around the engine, as the operator guide's
		// withDeadline sets it around a mux: a short one for the slow route.
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			timeout := time.Minute
			if req.URL.Path == "/slow" {
				timeout = d
			}
			ctx, cancel := context.WithTimeout(req.Context(), timeout)
			defer cancel()
			r.ServeHTTP(w, req.WithContext(ctx))
		}))
	})
}
