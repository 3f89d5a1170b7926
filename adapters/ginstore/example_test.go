package ginstore_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// Switching a gin-contrib/sessions application to a shared directory: the
// store is the only line that changes (it was cookie.NewStore(secret) or
// redis.NewStore(...)); handlers stay as they are. Saves remain
// last-writer-wins; use adapters/ginsession where a user's concurrent
// requests must not lose updates.
func ExampleNewStore() {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// Without WithLogger the store logs nothing: a record it refuses
	// (damaged, unreadable to this user) is a silent log out.
	st, err := fsstore.Open(dir, fsstore.WithLogger(slog.Default())) // every app server opens the same NFS or EFS directory
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	secret := []byte("0123456789abcdef0123456789abcdef") // from your secret store
	store := ginstore.NewStore(st, secret)

	r := gin.New()
	r.Use(sessions.Sessions("app", store))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		n, _ := s.Get("visits").(int)
		s.Set("visits", n+1)
		if err := s.Save(); err != nil {
			// 503 in an outage (a session the store failed to load is
			// refused: gorillastore.ErrNotLoaded), 500 for a session
			// over the store's size limit.
			c.AbortWithStatus(httpsession.StatusCode(err))
			return
		}
		c.String(http.StatusOK, "visit %d", n+1)
	})

	srv := httptest.NewTLSServer(r) // the default cookie is Secure
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	for range 2 {
		resp, err := browser.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
}
