package echosession_test

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestSessionCookieKeptFromSharedCaches: however an echo handler answers
// (a returned error included, which the middleware renders), a response
// that sets the session's cookie carries Cache-Control: private and Vary:
// Cookie, as httpsession's own responses do, also when the handler set
// Vary or a Cache-Control that lets shared caches store it.
func TestSessionCookieKeptFromSharedCaches(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("file contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	put := func(c echo.Context) {
		if err := echosession.FromContext(c).Put("n", 1); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name    string
		handler echo.HandlerFunc
		gzip    bool // echo's Gzip middleware inside the session's
	}{
		{"String", func(c echo.Context) error { put(c); return c.String(http.StatusOK, "ok") }, false},
		{"NoContent", func(c echo.Context) error { put(c); return c.NoContent(http.StatusNoContent) }, false},
		{"public Cache-Control", func(c echo.Context) error {
			put(c)
			c.Response().Header().Set("Cache-Control", "public, max-age=60")
			return c.String(http.StatusOK, "ok")
		}, false},
		{"Vary set", func(c echo.Context) error {
			put(c)
			c.Response().Header().Set("Vary", "Accept-Encoding")
			return c.String(http.StatusOK, "ok")
		}, false},
		{"File", func(c echo.Context) error { put(c); return c.File(file) }, false},
		{"returned HTTPError", func(c echo.Context) error { put(c); return echo.NewHTTPError(http.StatusTeapot, "no") }, false},
		{"nothing written", func(c echo.Context) error { put(c); return nil }, false},
		{"Gzip", func(c echo.Context) error { put(c); return c.String(http.StatusOK, strings.Repeat("ok", 1024)) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(echosession.Handler(newManager(t)))
			if tt.gzip {
				e.Use(middleware.Gzip())
			}
			e.GET("/", tt.handler)
			resp := webtest.Send(t, e, "GET", "/", nil)
			if sessionCookie(resp) == nil {
				t.Fatalf("status %d, no session cookie: %q", resp.Code, resp.Header.Values("Set-Cookie"))
			}
			webtest.CheckPrivate(t, resp.Header)
		})
	}
}

// TestOuterBeforeHookKeepsCookiePrivate: a Response.Before hook that an
// outer middleware (one before the session's in e.Use) registered runs as
// the response starts, after the session middleware readied the header:
// its Cache-Control: public and its Vary went out with the session's
// cookie, and a shared cache could hand that cookie to the next visitor.
// The session's header is readied again after such hooks, on every
// answer that carries the cookie: the handler's, echo's for a returned
// error, and the error handler's with the cookie a Release saved.
func TestOuterBeforeHookKeepsCookiePrivate(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(h http.Header)
	}{
		{"public Cache-Control", func(h http.Header) { h.Set("Cache-Control", "public, max-age=60") }},
		{"Surrogate-Control", func(h http.Header) { h.Set("Surrogate-Control", "max-age=60") }},
		{"Vary replaced", func(h http.Header) { h.Set("Vary", "Accept-Encoding") }},
	} {
		for _, answer := range []struct {
			name string
			h    echo.HandlerFunc
			code int
		}{
			{"String", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, http.StatusOK},
			{"returned HTTPError", func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden) }, http.StatusForbidden},
			// The error handler's answer carries the cookie the
			// Release saved.
			{"Release, then Clear", func(c echo.Context) error {
				s := echosession.FromContext(c)
				if err := s.Release(); err != nil {
					return err
				}
				s.Clear() // fails the request: the session was released
				return c.String(http.StatusOK, "ok")
			}, http.StatusInternalServerError},
		} {
			t.Run(tc.name+", "+answer.name, func(t *testing.T) {
				e := echo.New()
				e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
					return func(c echo.Context) error {
						c.Response().Before(func() { tc.set(c.Response().Header()) })
						return next(c)
					}
				})
				e.Use(echosession.Handler(httpsession.New(newManagerStore(t), httpsession.WithLogger(slog.New(slog.DiscardHandler)))))
				e.GET("/", func(c echo.Context) error {
					if err := echosession.FromContext(c).Put("n", 1); err != nil {
						return err
					}
					return answer.h(c)
				})
				resp := webtest.Send(t, e, "GET", "/", nil)
				if sessionCookie(resp) == nil || resp.Code != answer.code {
					t.Fatalf("status %d, session cookie %v; want %d with one", resp.Code, sessionCookie(resp), answer.code)
				}
				webtest.CheckPrivate(t, resp.Header)
				if sc := resp.Header.Get("Surrogate-Control"); sc != "" && sc != "no-store" {
					t.Errorf("Surrogate-Control %q, want no-store", sc)
				}
			})
		}
	}
}

// newManagerStore opens a store for a Manager of the test's own options.
func newManagerStore(t *testing.T) *fsstore.Store {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestOuterBeforeHookKeepsInnerManagersCookiePrivate: with the middlewares
// of two Managers (cookies of their own names) on one route, a
// Response.Before hook registered outside the inner one ran after the
// inner middleware's readying, and the outer middleware's readied the
// header for its own cookie only: the inner session's cookie went out with
// the hook's Cache-Control: public, for a shared cache to hand to the next
// visitor.
func TestOuterBeforeHookKeepsInnerManagersCookiePrivate(t *testing.T) {
	public := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Before(func() {
				c.Response().Header().Set("Cache-Control", "public, max-age=60")
				c.Response().Header().Set("Surrogate-Control", "max-age=60")
			})
			return next(c)
		}
	}
	for _, tc := range []struct {
		name    string
		between bool // the hook's middleware is between the two Managers'
		handler echo.HandlerFunc
	}{
		{"outside both, String", false, func(c echo.Context) error { return c.String(http.StatusOK, "ok") }},
		{"outside both, NoContent", false, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }},
		{"outside both, returned HTTPError", false, func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden) }},
		{"between, String", true, func(c echo.Context) error { return c.String(http.StatusOK, "ok") }},
		{"between, NoContent", true, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }},
		// The outer Manager's error answer carries the inner one's
		// cookie, whose record is saved.
		{"outside both, outer commit fails", false, func(c echo.Context) error {
			if err := c.Get("outer").(*httpsession.Session).Put("n", 1); err != nil {
				return err
			}
			c.Get("outerStore").(*fsstore.Store).Close()
			return c.String(http.StatusOK, "ok")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outerStore := newManagerStore(t)
			outer := httpsession.New(outerStore, httpsession.WithLogger(slog.New(slog.DiscardHandler)))
			inner := httpsession.New(newManagerStore(t), httpsession.WithCookie(httpsession.Cookie{Name: "admin"}))
			e := echo.New()
			if tc.between {
				e.Use(echosession.Handler(outer), public)
			} else {
				e.Use(public, echosession.Handler(outer))
			}
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					c.Set("outer", echosession.FromContext(c))
					c.Set("outerStore", outerStore)
					return next(c)
				}
			})
			e.Use(echosession.Handler(inner))
			e.GET("/", func(c echo.Context) error {
				if err := echosession.FromContext(c).Put("n", 1); err != nil {
					return err
				}
				return tc.handler(c)
			})
			resp := webtest.Send(t, e, "GET", "/", nil)
			if resp.Cookie("admin") == nil {
				t.Fatalf("status %d, no cookie of the inner Manager: %q", resp.Code, resp.Header.Values("Set-Cookie"))
			}
			if failed := strings.HasSuffix(tc.name, "fails"); failed != (resp.Code == http.StatusServiceUnavailable) {
				t.Errorf("status %d", resp.Code)
			}
			webtest.CheckPrivate(t, resp.Header)
			if sc := resp.Header.Get("Surrogate-Control"); sc != "no-store" {
				t.Errorf("Surrogate-Control %q, want no-store", sc)
			}
		})
	}
}

// TestOuterFieldsAfterNext: a middleware before this one that sets caching
// fields after next returns, on a response the handler wrote nothing to
// (it returned nil), sets them after the session readied the header, and
// net/http sends them as they are once the handler chain has returned: no
// Before hook runs for such a response. Calling
// Manager.KeepFromSharedCaches after them, as the documentation says, keeps
// the session's cookie from shared caches.
func TestOuterFieldsAfterNext(t *testing.T) {
	m := newManager(t)
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			c.Response().Header().Set("Cache-Control", "public, max-age=60")
			c.Response().Header().Set("Surrogate-Control", "max-age=60")
			m.KeepFromSharedCaches(c.Response().Header())
			return err
		}
	}, echosession.Handler(m))
	e.GET("/", func(c echo.Context) error { return echosession.FromContext(c).Put("n", 1) })
	resp := webtest.Send(t, e, "GET", "/", nil)
	if sessionCookie(resp) == nil {
		t.Fatalf("status %d, no session cookie", resp.Code)
	}
	webtest.CheckPrivate(t, resp.Header)
	if sc := resp.Header.Get("Surrogate-Control"); sc != "no-store" {
		t.Errorf("Surrogate-Control %q, want no-store", sc)
	}
}

// headerAtWriteHeader notes the Cache-Control lines it is handed at
// WriteHeader, as a response cache's writer decides then whether to
// store the response. It unwraps, as http.ResponseController asks.
type headerAtWriteHeader struct {
	http.ResponseWriter
	seen *[]string
}

func (w headerAtWriteHeader) WriteHeader(code int) {
	*w.seen = slices.Clone(w.Header().Values("Cache-Control"))
	w.ResponseWriter.WriteHeader(code)
}

func (w headerAtWriteHeader) Write(b []byte) (int, error) { return w.ResponseWriter.Write(b) }

func (w headerAtWriteHeader) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestReplacedResponseKeepsCookiePrivate: a middleware that replaced
// c.Response() with one writing through a writer of its own (a response
// cache's), and around it echo's Response: a Before hook registered on the
// replacement by a middleware inside it set Cache-Control: public, and the
// session middleware readied the header again on the outer Response only,
// whose hooks run after the writer between the two read the header. That
// writer saw the session's cookie with public, and a cache deciding there
// would store it.
func TestReplacedResponseKeepsCookiePrivate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler echo.HandlerFunc
	}{
		{"String", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }},
		{"NoContent", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }},
		{"returned HTTPError", func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			e := echo.New()
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					orig := c.Response()
					c.SetResponse(echo.NewResponse(headerAtWriteHeader{orig, &seen}, c.Echo()))
					defer c.SetResponse(orig)
					return next(c)
				}
			}, func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					c.Response().Before(func() { c.Response().Header().Set("Cache-Control", "public, max-age=60") })
					return next(c)
				}
			}, echosession.Handler(newManager(t)))
			e.GET("/", func(c echo.Context) error {
				if err := echosession.FromContext(c).Put("n", 1); err != nil {
					return err
				}
				return tc.handler(c)
			})
			resp := webtest.Send(t, e, "GET", "/", nil)
			if sessionCookie(resp) == nil {
				t.Fatalf("status %d, no session cookie", resp.Code)
			}
			webtest.CheckPrivate(t, resp.Header)
			if !slices.Contains(seen, "private") || slices.ContainsFunc(seen, func(l string) bool { return strings.Contains(l, "public") }) {
				t.Errorf("the writer between the Responses saw Cache-Control %q with the session's cookie, want private and no public", seen)
			}
		})
	}
}

// TestReplacedResponseUnderOpaqueWriter: a middleware that replaced
// c.Response() with one writing through a writer of its own that does not
// unwrap hides the Responses under it from the session middleware, whose
// hook cannot run after theirs: a Before hook of an outer middleware on
// echo's Response runs after the session readied the header, and its
// Cache-Control: public goes out with the session's cookie, as the
// documentation says. What it tells users to do keeps the cookie private:
// give that writer an Unwrap method, or serve the echo server from inside
// httpsession's middleware, whose writer is under every echo Response.
func TestReplacedResponseUnderOpaqueWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writer func(http.ResponseWriter) http.ResponseWriter
		around bool // httpsession's middleware around the echo server, in place of echosession's
		public bool // the hook's public goes out with the cookie: the documented limit
	}{
		{"writer that does not unwrap", func(w http.ResponseWriter) http.ResponseWriter { return opaque{w} }, false, true},
		{"writer that unwraps", func(w http.ResponseWriter) http.ResponseWriter { return unwrapping{opaque{w}} }, false, false},
		{"httpsession around the server", func(w http.ResponseWriter) http.ResponseWriter { return opaque{w} }, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			e := echo.New()
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					c.Response().Before(func() { c.Response().Header().Set("Cache-Control", "public, max-age=60") })
					return next(c)
				}
			}, func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					orig := c.Response()
					c.SetResponse(echo.NewResponse(tc.writer(orig), c.Echo()))
					defer c.SetResponse(orig)
					return next(c)
				}
			})
			if !tc.around {
				e.Use(echosession.Handler(m))
			}
			e.GET("/", func(c echo.Context) error {
				if err := echosession.FromContext(c).Put("n", 1); err != nil {
					return err
				}
				return c.String(http.StatusOK, "ok")
			})
			var h http.Handler = e
			if tc.around {
				h = m.Handler(e)
			}
			resp := webtest.Send(t, h, "GET", "/", nil)
			if sessionCookie(resp) == nil {
				t.Fatalf("status %d, no session cookie", resp.Code)
			}
			if tc.public {
				if cc := resp.Header.Values("Cache-Control"); !slices.Equal(cc, []string{"public, max-age=60"}) {
					t.Errorf("Cache-Control %q, want the hook's public, as docs/frameworks.md says it goes out: update it", cc)
				}
				return
			}
			webtest.CheckPrivate(t, resp.Header)
		})
	}
}

// opaque writes through the writer it holds, which it does not unwrap.
type opaque struct{ w http.ResponseWriter }

func (o opaque) Header() http.Header         { return o.w.Header() }
func (o opaque) WriteHeader(code int)        { o.w.WriteHeader(code) }
func (o opaque) Write(b []byte) (int, error) { return o.w.Write(b) }

// unwrapping is opaque with an Unwrap method, as http.ResponseController
// asks of a writer.
type unwrapping struct{ opaque }

func (u unwrapping) Unwrap() http.ResponseWriter { return u.w }
