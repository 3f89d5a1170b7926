package ginstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// gin-contrib logs the error of a session the store failed to load and
// hands the handler a new one. As docs/frameworks.md says, a page that
// only reads answers the failure from store.Get(c.Request, name), which
// gives the session gin-contrib uses with its error, and a page that
// saves from Save's refusal; both match gorillastore.ErrNotLoaded and map
// to 503 with the store closed or the request's deadline passed. A client
// that hung up (net/http cancels the request's context) fails neither: as
// with gin-contrib's stores, the session is loaded and saved all the same.
func TestNotLoadedAnswered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(st *fsstore.Store) context.Context
		code  int
	}{
		{"none", func(*fsstore.Store) context.Context { return context.Background() }, http.StatusOK},
		{"store closed", func(st *fsstore.Store) context.Context { st.Close(); return context.Background() }, http.StatusServiceUnavailable},
		{"request past its deadline", func(*fsstore.Store) context.Context { return pastDeadline() }, http.StatusServiceUnavailable},
		{"client hung up", func(*fsstore.Store) context.Context { return canceled() }, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			store := ginstore.NewStore(st, key)
			r := gin.New()
			r.Use(sessions.Sessions("app", store))
			r.GET("/read", func(c *gin.Context) {
				if _, err := store.Get(c.Request, "app"); errors.Is(err, gorillastore.ErrNotLoaded) {
					c.AbortWithStatus(httpsession.StatusCode(err))
					return
				}
				c.String(http.StatusOK, "%v", sessions.Default(c).Get("user"))
			})
			r.GET("/write", func(c *gin.Context) {
				s := sessions.Default(c)
				s.Set("user", "alice")
				if err := s.Save(); err != nil {
					if !errors.Is(err, gorillastore.ErrNotLoaded) {
						t.Errorf("Save: %v, want ErrNotLoaded", err)
					}
					c.AbortWithStatus(httpsession.StatusCode(err))
					return
				}
				c.String(http.StatusOK, "%v", s.Get("user"))
			})
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/write", nil))
			user := w.Result().Cookies()
			ctx := tc.fault(st)
			for _, path := range []string{"/read", "/write"} {
				req := httptest.NewRequest("GET", path, nil).WithContext(ctx)
				for _, c := range user {
					req.AddCookie(c)
				}
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != tc.code || tc.code == http.StatusOK && w.Body.String() != "alice" {
					t.Errorf("%s: status %d, body %q; want %d", path, w.Code, w.Body, tc.code)
				}
			}
		})
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func pastDeadline() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	cancel() // the deadline's error stays
	return ctx
}
