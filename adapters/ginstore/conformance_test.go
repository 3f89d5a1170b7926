package ginstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/webtest"
)

// conformanceApp serves gin-contrib's session API on store: each route is
// one thing an application does with a session, and answers what it read.
func conformanceApp(store sessions.Store) http.Handler {
	r := gin.New()
	r.Use(sessions.SessionsMany([]string{"app", "other"}, store))
	save := func(c *gin.Context, s sessions.Session) {
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, "save: %v", err)
			return
		}
		c.String(http.StatusOK, "ok")
	}
	r.GET("/set", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.Set("user", c.Query("v"))
		save(c, s)
	})
	r.GET("/get", func(c *gin.Context) {
		c.String(http.StatusOK, "%v %v", sessions.DefaultMany(c, "app").Get("user"), sessions.DefaultMany(c, "other").Get("x"))
	})
	r.GET("/both", func(c *gin.Context) {
		a, o := sessions.DefaultMany(c, "app"), sessions.DefaultMany(c, "other")
		a.Set("user", "both")
		o.Set("x", 1)
		if err := a.Save(); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		save(c, o)
	})
	r.GET("/flash", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.AddFlash("hello")
		save(c, s)
	})
	r.GET("/flashes", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		f := s.Flashes()
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "%v", f)
	})
	r.GET("/delete", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.Delete("user")
		save(c, s)
	})
	r.GET("/clear", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.Clear()
		save(c, s)
	})
	r.GET("/options", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.Options(sessions.Options{Path: "/", Domain: "example.com", MaxAge: 600, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		s.Set("user", "opts")
		save(c, s)
	})
	r.GET("/browser-session", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.Options(sessions.Options{Path: "/", HttpOnly: true})
		s.Set("user", "until-close")
		save(c, s)
	})
	r.GET("/logout", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		s.Options(sessions.Options{Path: "/", MaxAge: -1})
		save(c, s)
	})
	r.GET("/hangup-set", func(c *gin.Context) {
		// The client hangs up while the handler works (net/http then
		// cancels the request's context), before its first use of the
		// session, which gin-contrib loads then.
		c.Request.Context().Value(hangupKey{}).(context.CancelFunc)()
		s := sessions.DefaultMany(c, "app")
		s.Set("user", c.Query("v"))
		save(c, s)
	})
	r.GET("/noop", func(c *gin.Context) {
		s := sessions.DefaultMany(c, "app")
		_ = s.Get("user")
		save(c, s) // nothing written: no Save, no cookie
	})
	return r
}

// TestConformsToCookieStore runs the same requests through gin-contrib's
// cookie store and ginstore, with the same Options, and compares what
// the browser gets: the answer and every cookie attribute. The one
// deliberate difference is a replayed cookie after a log out, which the
// cookie store, holding the values in the cookie, cannot revoke.
func TestConformsToCookieStore(t *testing.T) {
	opts := sessions.Options{Path: "/", MaxAge: 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	run := func(store sessions.Store) []string {
		store.Options(opts)
		h := conformanceApp(store)
		jar := map[string]string{}
		var log []string
		do := func(path string, replay map[string]string) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := httptest.NewRequestWithContext(context.WithValue(ctx, hangupKey{}, cancel), "GET", "http://example.com"+path, nil)
			cookies := jar
			if replay != nil {
				cookies = replay
			}
			for n, v := range cookies {
				r.AddCookie(&http.Cookie{Name: n, Value: v})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			line := fmt.Sprintf("%s: %d %q", path, w.Code, w.Body.String())
			for _, c := range w.Result().Cookies() {
				exp := webtest.ExpiresIn(c)
				// A cookie with a negative MaxAge is deleted, whatever
				// its value: the cookie store's holds the values.
				empty := c.Value == "" || c.MaxAge < 0
				line += fmt.Sprintf(" [%s empty=%t path=%q domain=%q maxage=%d expires=%s secure=%t httponly=%t samesite=%d]",
					c.Name, empty, c.Path, c.Domain, c.MaxAge, exp, c.Secure, c.HttpOnly, c.SameSite)
				if c.MaxAge < 0 {
					delete(jar, c.Name)
				} else {
					jar[c.Name] = c.Value
				}
			}
			log = append(log, line)
		}
		do("/get", nil)
		do("/noop", nil)
		do("/set?v=alice", nil)
		do("/get", nil)
		do("/both", nil)
		do("/get", nil)
		do("/flash", nil)
		do("/flashes", nil)
		do("/flashes", nil)
		do("/delete", nil)
		do("/get", nil)
		do("/set?v=bob", nil)
		do("/clear", nil)
		do("/get", nil)
		do("/options", nil)
		do("/get", nil)
		do("/browser-session", nil)
		do("/get", nil)
		old := map[string]string{}
		for n, v := range jar {
			old[n] = v
		}
		do("/logout", nil)
		do("/get", nil)
		do("/get", old) // the cookie from before the log out, replayed
		do("/get?bad", map[string]string{"app": "../../../../etc/passwd", "other": strings.Repeat("A", 5000)})
		do("/set?v=dave", nil)
		do("/hangup-set?v=carol", nil)
		do("/get", nil)
		return log
	}
	want := run(cookie.NewStore(key))
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	got := run(ginstore.NewStore(st, key))
	const replayed = 20
	for i := range want {
		switch {
		case i == replayed:
			// Deliberate: the log out deleted the session; the cookie
			// store's cookie is its own session.
			if got[i] != `/get: 200 "<nil> 1"` { // the other session lives on
				t.Errorf("a cookie replayed after the log out: %s; want no session", got[i])
			}
			if want[i] == got[i] {
				t.Errorf("the cookie store now revokes a replayed cookie too: %s", want[i])
			}
		case got[i] != want[i]:
			t.Errorf("request %d differs:\n  cookie store: %s\n  ginstore:     %s", i, want[i], got[i])
		}
	}
}

// hangupKey is the request context's key of the CancelFunc that ends it,
// as net/http does when the client hangs up.
type hangupKey struct{}
