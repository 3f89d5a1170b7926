package gorillastore_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/internal/fakeclock"
)

// logoutApp is an echo-contrib application: every handler returns Get's
// error, as echo-contrib's documentation writes them, so a Get that fails
// is a 500. /logout?max-age=N ends the session with Options.MaxAge N.
func logoutApp(t *testing.T, store sessions.Store) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.Use(session.Middleware(store))
	e.GET("/login", func(c echo.Context) error {
		s, err := session.Get("app", c)
		if err != nil {
			return err
		}
		s.Values["user"] = "alice"
		return s.Save(c.Request(), c.Response())
	})
	e.GET("/logout", func(c echo.Context) error {
		s, err := session.Get("app", c)
		if err != nil {
			return err
		}
		maxAge, err := strconv.Atoi(c.QueryParam("max-age"))
		if err != nil {
			return err
		}
		s.Options.MaxAge = maxAge
		return s.Save(c.Request(), c.Response())
	})
	e.GET("/", func(c echo.Context) error {
		s, err := session.Get("app", c)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprint(s.Values["user"]))
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// TestLogoutCookieIsNoSession: a logout (Options.MaxAge 0, or negative)
// expires the session's cookie in the browser, and a browser that still
// sends the cookie with an empty value gets a new session, not an error.
// gorilla's FilesystemStore answers a logout with MaxAge 0 with an empty
// cookie without Max-Age, which the browser keeps until it closes and
// which FilesystemStore then fails to decode: with an app that returns
// Get's error, as echo-contrib's do, every request of that user (the
// login page's too) would answer 500 until the browser closes. Browsers
// switching from FilesystemStore may hold such a cookie.
func TestLogoutCookieIsNoSession(t *testing.T) {
	for _, maxAge := range []int{0, -1} {
		t.Run(fmt.Sprintf("MaxAge %d", maxAge), func(t *testing.T) {
			store, _ := open(t, t.TempDir(), fakeclock.New())
			store.Options.Secure = false // the test server is plain HTTP
			srv := logoutApp(t, store)
			browser := srv.Client()
			browser.Jar, _ = cookiejar.New(nil)
			get := func(path string) (int, string) {
				t.Helper()
				resp, err := browser.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode, string(b)
			}
			get("/login")
			if code, user := get("/"); code != http.StatusOK || user != "alice" {
				t.Fatalf("after the login: %d %q", code, user)
			}
			get(fmt.Sprintf("/logout?max-age=%d", maxAge))
			u, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if cs := browser.Jar.Cookies(u); len(cs) != 0 {
				t.Errorf("after the logout the browser keeps %v, want the cookie expired", cs)
			}
			if code, user := get("/"); code != http.StatusOK || user != "<nil>" {
				t.Errorf("after the logout: %d %q, want 200 and no user", code, user)
			}
			// The empty cookie that FilesystemStore's logout leaves.
			req := httptest.NewRequest("GET", "http://www.example.com/", nil)
			req.Header.Set("Cookie", "app=")
			if sess, err := store.New(req, "app"); err != nil || !sess.IsNew {
				t.Errorf("an empty cookie: new %v, err %v; want a new session, no error", sess.IsNew, err)
			}
		})
	}
}
