package ginsession_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A visit counter in a gin application. Every app server opens the same
// NFS or EFS directory; a user's requests take the session's lock in turn,
// whichever server answers, so no visit is lost.
func ExampleHandler() {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// Without WithLogger the store logs nothing: a record it refuses
	// (damaged, unreadable to this user) is a silent log out.
	st, err := fsstore.Open(dir, fsstore.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	sessions := httpsession.New(st)
	r := gin.New()
	r.Use(ginsession.Handler(sessions))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.FromContext(c)
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			c.AbortWithStatus(httpsession.StatusCode(err))
			return
		}
		c.String(http.StatusOK, "visit %d", n)
	})
	// Pages that only read take no lock and never write.
	r.GET("/visits", ginsession.Middleware(sessions, httpsession.ReadOnly), func(c *gin.Context) {
		c.String(http.StatusOK, "%d visits", ginsession.FromContext(c).GetInt("visits"))
	})

	// The default cookie is Secure: the browser sends it over HTTPS only.
	srv := httptest.NewTLSServer(r)
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	for _, path := range []string{"/", "/", "/visits"} {
		resp, err := browser.Get(srv.URL + path)
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
	// 2 visits
}
