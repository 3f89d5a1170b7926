package echosession_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A visit counter in an echo application. Every app server opens the same
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
	e := echo.New()
	e.Use(echosession.Handler(sessions))
	e.GET("/", func(c echo.Context) error {
		s := echosession.FromContext(c)
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			return err // the session could not be loaded: echo's error handler answers
		}
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n))
	})
	// Pages that only read take no lock and never write.
	e.GET("/visits", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprintf("%d visits", echosession.FromContext(c).GetInt("visits")))
	}, echosession.Middleware(sessions, httpsession.ReadOnly))

	// The default cookie is Secure: the browser sends it over HTTPS only.
	srv := httptest.NewTLSServer(e)
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
