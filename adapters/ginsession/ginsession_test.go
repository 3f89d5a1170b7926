package ginsession_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

func init() { gin.SetMode(gin.TestMode) }

// counterApp serves the webtest counter protocol on a gin engine. A
// request with ?gate waits at gate between reading and writing the
// counter.
func counterApp(m *httpsession.Manager, gate *webtest.Gate) *gin.Engine {
	r := gin.New()
	r.Use(ginsession.Handler(m))
	r.POST("/inc", func(c *gin.Context) {
		s := ginsession.FromContext(c)
		n := s.GetInt("n") + 1
		if gate != nil && c.Request.URL.Query().Has("gate") {
			if err := gate.Wait(c.Request.Context()); err != nil {
				c.AbortWithStatus(http.StatusGatewayTimeout)
				return
			}
		}
		if err := s.Put("n", n); err != nil {
			c.String(http.StatusServiceUnavailable, "%v", err)
			return
		}
		c.String(http.StatusOK, "%d", n)
	})
	r.GET("/n", func(c *gin.Context) {
		c.String(http.StatusOK, "%d", ginsession.FromContext(c).GetInt("n"))
	})
	return r
}

func openApp(dir string) (http.Handler, func() error, error) {
	st, err := fsstore.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	return counterApp(httpsession.New(st), nil), st.Close, nil
}

// TestInstance is one app process of TestConcurrentIncrementsAcrossInstances.
func TestInstance(t *testing.T) { webtest.Instance(t, openApp) }

// TestConcurrentIncrementsAcrossInstances: two gin app processes on one
// session directory, one user's increments sent to both at once; the
// session lock serializes them and none is lost.
func TestConcurrentIncrementsAcrossInstances(t *testing.T) {
	webtest.CheckNoneLost(t, webtest.Start(t, "TestInstance", t.TempDir(), 2))
}

func newManager(t *testing.T, opts ...fsstore.Option) *httpsession.Manager {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), append([]fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return httpsession.New(st)
}

// sessionCookie is the session's cookie that r set, or nil.
func sessionCookie(r webtest.Response) *http.Cookie {
	return r.Cookie(httpsession.DefaultCookie().Name)
}

// TestCommitThroughGinWriter: however a gin handler answers, the session
// it changed is saved and its cookie goes out with the headers, including
// changes made after c.Status (gin sends the status with the body).
func TestCommitThroughGinWriter(t *testing.T) {
	put := func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("n", 1); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name    string
		handler gin.HandlerFunc
		code    int
	}{
		{"String", func(c *gin.Context) { put(c); c.String(http.StatusOK, "ok") }, http.StatusOK},
		{"JSON", func(c *gin.Context) { put(c); c.JSON(http.StatusCreated, gin.H{"ok": true}) }, http.StatusCreated},
		{"Data", func(c *gin.Context) { put(c); c.Data(http.StatusOK, "text/plain", []byte("ok")) }, http.StatusOK},
		{"Status only", func(c *gin.Context) { put(c); c.Status(http.StatusNoContent) }, http.StatusNoContent},
		{"change after Status", func(c *gin.Context) { c.Status(http.StatusAccepted); put(c); c.String(http.StatusAccepted, "ok") }, http.StatusAccepted},
		{"Redirect", func(c *gin.Context) { put(c); c.Redirect(http.StatusFound, "/n") }, http.StatusFound},
		{"AbortWithStatus", func(c *gin.Context) { put(c); c.AbortWithStatus(http.StatusAccepted) }, http.StatusAccepted},
		{"WriteString", func(c *gin.Context) { put(c); c.Writer.WriteString("ok") }, http.StatusOK},
		{"Flush", func(c *gin.Context) { put(c); c.Writer.Flush(); c.Writer.WriteString("ok") }, http.StatusOK},
		{"Stream", func(c *gin.Context) {
			put(c)
			c.Stream(func(w io.Writer) bool { fmt.Fprint(w, "ok"); return false })
		}, http.StatusOK},
		{"nothing written", put, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t)
			r := gin.New()
			r.Use(ginsession.Handler(m))
			r.GET("/", tt.handler)
			r.GET("/n", func(c *gin.Context) { c.String(http.StatusOK, "%d", ginsession.FromContext(c).GetInt("n")) })
			w := webtest.Send(t, r, "GET", "/", nil)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			c := sessionCookie(w)
			if c == nil {
				t.Fatalf("no session cookie in %v", w.Header)
			}
			if got := webtest.Send(t, r, "GET", "/n", c).Body; got != "1" {
				t.Errorf("next request reads n = %q, want 1", got)
			}
		})
	}
}

// TestSaveFailureReplacesResponse: when the session cannot be saved, the
// Manager's error handler answers instead of the handler, and the user
// does not see a success that was not stored.
func TestSaveFailureReplacesResponse(t *testing.T) {
	m := newManager(t, fsstore.WithMaxSize(64))
	r := gin.New()
	r.Use(ginsession.Handler(m))
	r.GET("/", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("big", strings.Repeat("x", 1024)); err != nil {
			t.Errorf("Put: %v", err)
		}
		c.String(http.StatusOK, "saved")
	})
	w := webtest.Send(t, r, "GET", "/", nil)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body, "saved") {
		t.Errorf("got %d %q, want the error handler's 500", w.Code, w.Body)
	}
	if c := sessionCookie(w); c != nil {
		t.Errorf("cookie %v set for a session that was not saved", c)
	}
}

// TestGroupMode: a group's Middleware sets the mode of its routes under
// the engine's Handler, as nested httpsession middlewares do.
func TestGroupMode(t *testing.T) {
	m := newManager(t)
	r := gin.New()
	r.Use(ginsession.Handler(m))
	var modes []httpsession.Mode
	record := func(c *gin.Context) { modes = append(modes, ginsession.FromContext(c).Mode()) }
	r.GET("/", record)
	r.Group("/ro", ginsession.Middleware(m, httpsession.ReadOnly)).GET("", record)
	webtest.Send(t, r, "GET", "/", nil)
	webtest.Send(t, r, "GET", "/ro", nil)
	if len(modes) != 2 || modes[0] != httpsession.Exclusive || modes[1] != httpsession.ReadOnly {
		t.Errorf("modes %v, want [Exclusive ReadOnly]", modes)
	}
}

// TestInvalidModeAborts: a middleware that cannot run answers with the
// error handler, and no later handler writes after it.
func TestInvalidModeAborts(t *testing.T) {
	r := gin.New()
	r.Use(ginsession.Middleware(newManager(t), httpsession.Mode(99)))
	ran := false
	r.GET("/", func(c *gin.Context) { ran = true; c.String(http.StatusOK, "handler") })
	w := webtest.Send(t, r, "GET", "/", nil)
	if ran || w.Code != http.StatusInternalServerError {
		t.Errorf("handler ran %v, status %d %q: want 500 from the error handler only", ran, w.Code, w.Body)
	}
}

func TestFromContextWithoutMiddleware(t *testing.T) {
	r := gin.New()
	var s *httpsession.Session
	r.GET("/", func(c *gin.Context) { s = ginsession.FromContext(c) })
	webtest.Send(t, r, "GET", "/", nil)
	if s != nil {
		t.Error("a session without the middleware")
	}
}

// gin's internal redirect, engine.HandleContext, runs the chain again on
// the same gin.Context, whose writer gin resets to its own: the session's
// writer must still see the target handler's response, or the session is
// committed after the response left, without its cookie, and a new
// session never reaches the browser.
func TestHandleContextKeepsTheSessionWriter(t *testing.T) {
	m := plainManager(t)
	r := gin.New()
	r.Use(ginsession.Handler(m))
	r.GET("/login", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("user", "ada"); err != nil {
			c.AbortWithStatus(http.StatusServiceUnavailable)
			return
		}
		c.String(http.StatusOK, "hello")
	})
	r.GET("/signin", func(c *gin.Context) {
		c.Request.URL.Path = "/login"
		r.HandleContext(c)
	})
	for _, path := range []string{"/login", "/signin"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if sent := w.Result().Header.Values("Set-Cookie"); len(sent) != 1 {
			t.Errorf("GET %s: %d %q; Set-Cookie sent %q, in the header map after the response %q",
				path, w.Code, w.Body.String(), sent, w.Header().Values("Set-Cookie"))
		}
	}
}

type upperWriter struct{ gin.ResponseWriter }

func (w *upperWriter) Write(b []byte) (int, error)       { return w.ResponseWriter.Write(bytes.ToUpper(b)) }
func (w *upperWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// A writer wrapper that a middleware between Handler and a route's
// Middleware puts in place (gzip, say) stays in place.
func TestNestedMiddlewareKeepsWriterWrapper(t *testing.T) {
	m := plainManager(t)
	r := gin.New()
	r.Use(ginsession.Handler(m))
	r.Use(func(c *gin.Context) { c.Writer = &upperWriter{c.Writer}; c.Next() })
	r.GET("/ro", ginsession.Middleware(m, httpsession.ReadOnly), func(c *gin.Context) {
		ginsession.FromContext(c).GetString("user")
		c.String(http.StatusOK, "hello")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/ro", nil))
	if got := w.Body.String(); got != "HELLO" {
		t.Errorf("body %q, want HELLO: the route's session middleware bypassed the writer wrapper", got)
	}
}

// plainManager returns a Manager on a fresh store whose cookie, "sid",
// also travels over plain HTTP.
func plainManager(t *testing.T) *httpsession.Manager {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return httpsession.New(st, httpsession.WithCookie(httpsession.Cookie{Name: "sid", Insecure: true}))
}
