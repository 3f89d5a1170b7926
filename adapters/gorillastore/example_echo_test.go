package gorillastore_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// echo-contrib/session takes any gorilla Store: switching an echo
// application to a shared directory changes the store line only (it was
// sessions.NewCookieStore(secret)). Saves remain last-writer-wins; use
// adapters/echosession where a user's concurrent requests must not lose
// updates.
func Example_echoContrib() {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.Open(dir) // every app server opens the same NFS or EFS directory
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	secret := []byte("0123456789abcdef0123456789abcdef") // from your secret store
	e := echo.New()
	e.Use(session.Middleware(gorillastore.New(st, secret)))
	e.GET("/", func(c echo.Context) error {
		s, err := session.Get("app", c)
		if errors.Is(err, gorillastore.ErrNotLoaded) {
			// The store failed: 503 in an outage, not echo's 500. After
			// other errors (a cookie signed with other keys) the new
			// session is the one to carry on with: returned, they would
			// answer 500 on every request until the cookie expired.
			return echo.NewHTTPError(httpsession.StatusCode(err)).SetInternal(err)
		}
		n, _ := s.Values["visits"].(int)
		s.Values["visits"] = n + 1
		if err := s.Save(c.Request(), c.Response()); err != nil {
			return echo.NewHTTPError(httpsession.StatusCode(err)).SetInternal(err)
		}
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
	})

	srv := httptest.NewTLSServer(e) // the default cookie is Secure
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
