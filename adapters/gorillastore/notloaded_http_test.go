package gorillastore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// echoVisits is an echo-contrib handler as docs/frameworks.md writes one:
// Get's error is answered only when it says the session was not loaded
// (ErrNotLoaded), with httpsession.StatusCode's status; after any other
// (a cookie or stored values that fail authentication) the new session
// is the one to carry on with. Save's error is answered the same way.
func echoVisits(c echo.Context) error {
	s, err := session.Get("app", c)
	if errors.Is(err, gorillastore.ErrNotLoaded) {
		return echo.NewHTTPError(httpsession.StatusCode(err)).SetInternal(err)
	}
	n, _ := s.Values["visits"].(int)
	s.Values["visits"] = n + 1
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return echo.NewHTTPError(httpsession.StatusCode(err)).SetInternal(err)
	}
	return c.NoContent(http.StatusOK)
}

// TestErrNotLoaded: Get's error matches ErrNotLoaded (with the store's own
// error) exactly when the store failed to load the session, and so does
// the error of the Save that refuses it; a cookie signed with other keys,
// stored values that fail authentication and a damaged record leave a new
// session to carry on with. An echo-contrib handler that returned Get's
// error, as echo-contrib's README does, answered 500 for an outage, where
// httpsession and scsstore's ErrorFunc answer 503, and 500 for a foreign
// cookie on every request until the cookie expired, as no Save replaced it.
func TestErrNotLoaded(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup breaks something for the user's next request; it returns
		// the request's cookie header and context.
		setup     func(t *testing.T, st *fsstore.Store, user *http.Cookie, id string) (string, context.Context)
		notLoaded bool
		also      error // the store's error, matched too
		code      int   // the documented handler's answer
	}{
		{"the user's session", func(t *testing.T, _ *fsstore.Store, user *http.Cookie, _ string) (string, context.Context) {
			return "app=" + user.Value, context.Background()
		}, false, nil, http.StatusOK},
		{"cookie signed with other keys", func(t *testing.T, _ *fsstore.Store, _ *http.Cookie, _ string) (string, context.Context) {
			return "app=" + mustEncode(t, strings.Repeat("ab", 32), securecookie.New([]byte("another application's key, 32 b"), nil)), context.Background()
		}, false, nil, http.StatusOK},
		{"stored values of other keys", func(t *testing.T, st *fsstore.Store, user *http.Cookie, id string) (string, context.Context) {
			if err := st.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("not values these keys signed")}); err != nil {
				t.Fatal(err)
			}
			return "app=" + user.Value, context.Background()
		}, false, nil, http.StatusOK},
		{"damaged record", func(t *testing.T, st *fsstore.Store, user *http.Cookie, _ string) (string, context.Context) {
			if err := os.WriteFile(recordFile(t, st.Dir()), []byte("not a session record"), 0o600); err != nil {
				t.Fatal(err)
			}
			return "app=" + user.Value, context.Background()
		}, false, nil, http.StatusOK},
		{"request past its deadline", func(t *testing.T, _ *fsstore.Store, user *http.Cookie, _ string) (string, context.Context) {
			return "app=" + user.Value, ended()
		}, true, context.DeadlineExceeded, http.StatusServiceUnavailable},
		{"client hung up", func(t *testing.T, _ *fsstore.Store, user *http.Cookie, _ string) (string, context.Context) {
			return "app=" + user.Value, hungUp() // loaded and saved all the same, as gorilla's stores do
		}, false, nil, http.StatusOK},
		{"store closed", func(t *testing.T, st *fsstore.Store, user *http.Cookie, _ string) (string, context.Context) {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			return "app=" + user.Value, context.Background()
		}, true, fsstore.ErrClosed, http.StatusServiceUnavailable},
		{"shard replaced by a file", func(t *testing.T, st *fsstore.Store, user *http.Cookie, _ string) (string, context.Context) {
			shard := filepath.Dir(recordFile(t, st.Dir()))
			if err := os.RemoveAll(shard); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(shard, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return "app=" + user.Value, context.Background()
		}, true, syscall.ENOTDIR, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := open(t, t.TempDir(), fakeclock.New())
			e := echo.New()
			e.Use(session.Middleware(s))
			e.GET("/", echoVisits)
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest("GET", "http://www.example.com/", nil))
			user := cookieOf(t, w, "app")
			header, ctx := tc.setup(t, st, user, decodeID(t, s, user))

			req := request(nil).WithContext(ctx)
			req.Header.Set("Cookie", header)
			sess, err := s.New(req, "app")
			if errors.Is(err, gorillastore.ErrNotLoaded) != tc.notLoaded || tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("Get: %v; want ErrNotLoaded %v, matching %v", err, tc.notLoaded, tc.also)
			}
			sess.Values["visits"] = 1
			err = s.Save(req, httptest.NewRecorder(), sess)
			if errors.Is(err, gorillastore.ErrNotLoaded) != tc.notLoaded || tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("Save: %v; want ErrNotLoaded %v, matching %v", err, tc.notLoaded, tc.also)
			}

			for i := range 2 { // twice: a new session's cookie is the browser's afterwards
				req := httptest.NewRequest("GET", "http://www.example.com/", nil).WithContext(ctx)
				req.Header.Set("Cookie", header)
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != tc.code {
					t.Errorf("request %d: status %d, body %q; want %d", i+1, w.Code, w.Body, tc.code)
				}
			}
		})
	}
}
