package httpsession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestMiddlewareInsideAnotherManagers: a route of Manager A whose
// Middleware(mode) sits inside Manager B's middleware, itself inside A's
// Handler (an application with a second session, its own cookie, for a
// part of the site), takes up A's session in its mode, as it does with no
// other Manager in between: it neither opens A's session a second time
// (which, in Exclusive mode, waited for the lock the outer use holds until
// the lock timeout, and answered 503 on every request) nor sees B's
// session through FromContext.
func TestMiddlewareInsideAnotherManagers(t *testing.T) {
	// readUser reads A's session before B's middleware (a check that the
	// user is logged in), which in Exclusive mode locks it.
	var outerSession *httpsession.Session
	readUser := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			outerSession = httpsession.FromContext(r.Context())
			outerSession.GetInt("n")
			next.ServeHTTP(w, r)
		})
	}
	for _, tc := range []struct {
		outer, inner httpsession.Mode
		wantN        string // A's counter after the route ran once
	}{
		{httpsession.Exclusive, httpsession.Exclusive, "2"},
		{httpsession.Exclusive, httpsession.Optimistic, "2"},
		{httpsession.Optimistic, httpsession.Exclusive, "2"},
		{httpsession.Exclusive, httpsession.ReadOnly, "1"},
	} {
		t.Run(fmt.Sprintf("%v around %v", tc.outer, tc.inner), func(t *testing.T) {
			a := newEnv(t, nil, httpsession.WithLockTimeout(5*time.Second))
			b := httpsession.New(a.st, httpsession.WithCookie(httpsession.Cookie{Name: "prefs"}))
			var (
				mode httpsession.Mode
				same bool
			)
			route := a.m.Middleware(tc.inner)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mode = httpsession.FromContext(r.Context()).Mode()
				same = httpsession.FromContext(r.Context()) == outerSession
				counter().ServeHTTP(w, r)
			}))
			srv := serve(t, a.m.Middleware(tc.outer)(readUser(b.Handler(route))))
			id := seedSession(t, a.m, map[string]any{"n": 1})
			resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
			got := body(t, resp)
			if tc.inner == httpsession.ReadOnly {
				if resp.StatusCode != http.StatusInternalServerError {
					t.Errorf("status %d %q, want the 500 of a Put refused on a ReadOnly route", resp.StatusCode, got)
				}
			} else if resp.StatusCode != http.StatusOK || got != "2" {
				t.Errorf("status %d %q, want 200 and A's counter, 2", resp.StatusCode, got)
			}
			if !same || mode != tc.inner {
				t.Errorf("the route's session is A's outer one: %v, in mode %v; want true, %v", same, mode, tc.inner)
			}
			if n := len(resp.Header.Values("Set-Cookie")); n != 0 {
				t.Errorf("Set-Cookie %q, want none: the session exists", resp.Header.Values("Set-Cookie"))
			}
			read := a.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			}))
			if n := body(t, do(t, read, id)); n != tc.wantN {
				t.Errorf("A's counter is %s after the request, want %s", n, tc.wantN)
			}
		})
	}
}

// TestErrorAnswerKeepsInnerManagersCookie: when a Manager's commit fails
// after the middleware of another Manager inside it committed its session
// (saved it, under a new ID), the error answer drops the handler's
// headers but carries that session's cookie, as it does the cookie of a
// Release: its record is saved, and after Renew the old one is gone. So
// with the inner session saved by its route's Release, whose cookie was
// in the header before the inner middleware's commit, and with a third
// Manager's middleware between the two, whose commit found the cookie
// already in the header. So also behind a writer between the outer
// middleware and the inner ones that does not unwrap
// (http.TimeoutHandler's, one of the application's), where the outer
// middleware never learned of the inner one's cookie and its error answer
// dropped it: the user lost the session saved under it.
func TestErrorAnswerKeepsInnerManagersCookie(t *testing.T) {
	hides := []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{
		{"unwrapping", func(h http.Handler) http.Handler { return h }},
		{"TimeoutHandler", func(h http.Handler) http.Handler { return http.TimeoutHandler(h, time.Hour, "slow") }},
		{"writer that does not unwrap", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(opaqueWriter{w}, r) })
		}},
	}
	for _, hide := range hides {
		for _, tc := range []struct{ release, between bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			t.Run(fmt.Sprintf("%s,release=%v,between=%v", hide.name, tc.release, tc.between), func(t *testing.T) {
				testErrorAnswerKeepsInnerManagersCookie(t, hide.wrap, tc.release, tc.between)
			})
		}
	}
}

// opaqueWriter writes through the writer it holds, which it does not
// unwrap.
type opaqueWriter struct{ w http.ResponseWriter }

func (o opaqueWriter) Header() http.Header         { return o.w.Header() }
func (o opaqueWriter) WriteHeader(code int)        { o.w.WriteHeader(code) }
func (o opaqueWriter) Write(b []byte) (int, error) { return o.w.Write(b) }

func testErrorAnswerKeepsInnerManagersCookie(t *testing.T, hide func(http.Handler) http.Handler, release, between bool) {
	a := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(256)})
	b := httpsession.New(a.st, httpsession.WithCookie(httpsession.Cookie{Name: "prefs"}))
	inner := b.Handler
	if between {
		c := httpsession.New(a.st, httpsession.WithCookie(httpsession.Cookie{Name: "cart"}))
		inner = func(h http.Handler) http.Handler { return c.Handler(b.Handler(h)) }
	}
	putPrefs := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			if err := s.Put("theme", "dark"); err != nil {
				t.Error(err)
			}
			if release {
				if err := s.Release(); err != nil {
					t.Error(err)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	route := a.m.Middleware(httpsession.Exclusive)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Too large for the store: A's commit fails.
		if err := httpsession.FromContext(r.Context()).Put("big", strings.Repeat("x", 1024)); err != nil {
			t.Error(err)
		}
		w.Header().Set("X-Handler", "1")
		fmt.Fprint(w, "saved")
	}))
	srv := serve(t, a.m.Handler(hide(inner(putPrefs(route)))))
	resp := call(t, client(t, srv), "GET", srv.URL, "", nil)
	if got := body(t, resp); resp.StatusCode != http.StatusInternalServerError || strings.Contains(got, "saved") || resp.Header.Get("X-Handler") != "" {
		t.Fatalf("answer %d %q, X-Handler %q; want A's error answer alone", resp.StatusCode, got, resp.Header.Get("X-Handler"))
	}
	var prefs *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "prefs" {
			prefs = c
		}
	}
	if prefs == nil {
		t.Fatalf("the error answer carries no prefs cookie (Set-Cookie %q): B's session was saved", resp.Header.Values("Set-Cookie"))
	}
	if sess, err := a.st.Load(context.Background(), prefs.Value); err != nil || !strings.Contains(string(sess.Data), "dark") {
		t.Fatalf("the prefs cookie names no saved session: %v", err)
	}
	if cc := strings.Join(resp.Header.Values("Cache-Control"), ", "); !strings.Contains(cc, "private") {
		t.Errorf("Cache-Control %q: an answer carrying a session cookie must be private", cc)
	}
}

// TestSameCookieManagersNestedWarnOnce: a second Manager on the store
// with the same cookie name, its middleware inside the first one's (a
// Manager made for one route's options), opens the user's session a
// second time; once the outer one has locked it (an authentication check
// before the route), the route answers 503 on every request with an error
// that says only that the lock was held. The inner Manager says what to
// do, once, on the first request it sees nested so, where nothing did;
// not for a cookie name of its own or another store.
func TestSameCookieManagersNestedWarnOnce(t *testing.T) {
	const warning = "inside another Manager's on the same store with the same cookie name"
	for _, tc := range []struct {
		name  string
		outer func(e *env) *httpsession.Manager
		warn  bool
	}{
		{"same store and cookie name", func(e *env) *httpsession.Manager {
			return httpsession.New(e.st, httpsession.WithIdleTimeout(time.Hour))
		}, true},
		{"a cookie name of its own", func(e *env) *httpsession.Manager {
			return httpsession.New(e.st, httpsession.WithCookie(httpsession.Cookie{Name: "remember"}))
		}, false},
		{"another store", func(e *env) *httpsession.Manager {
			return httpsession.New(newEnv(t, nil).st)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			// The outer middleware never uses its session, so the
			// requests succeed: the warning comes before any 503.
			h := tc.outer(e).Handler(e.m.Handler(counter()))
			newReq := func() *http.Request { return httptest.NewRequest("GET", "https://app.example/", nil) }
			warnsOnce(t, e, h, newReq, warning, "nested Managers", tc.warn,
				"level=WARN", "cookie=session", "Middleware(mode)", "cookie name of its own")
		})
	}
}

// TestSameCookieManagersNestedWarnBeyondOthers: the warning of
// TestSameCookieManagersNestedWarnOnce, where the outer Manager of the
// same cookie name is not the innermost around this one (another
// Manager's middleware, of a cookie of its own, between the two), or is
// on a second Store opened on the same directory: its lock holds the
// inner one's just the same, and the route answered 503 with no warning.
func TestSameCookieManagersNestedWarnBeyondOthers(t *testing.T) {
	const warning = "inside another Manager's on the same store with the same cookie name"
	for _, tc := range []struct {
		name string
		wrap func(e *env, inner http.Handler) http.Handler
		warn bool
	}{
		{"another Manager's middleware between", func(e *env, inner http.Handler) http.Handler {
			outer := httpsession.New(e.st, httpsession.WithIdleTimeout(time.Hour))
			between := httpsession.New(e.st, httpsession.WithCookie(httpsession.Cookie{Name: "prefs"}))
			return outer.Handler(between.Handler(inner))
		}, true},
		{"a second Store on the same directory", func(e *env, inner http.Handler) http.Handler {
			st, err := fsstore.Open(e.st.Dir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return httpsession.New(st).Handler(inner)
		}, true},
		{"a second Store on the same directory, a cookie name of its own", func(e *env, inner http.Handler) http.Handler {
			st, err := fsstore.Open(e.st.Dir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return httpsession.New(st, httpsession.WithCookie(httpsession.Cookie{Name: "remember"})).Handler(inner)
		}, false},
		{"the same Manager around another's", func(e *env, inner http.Handler) http.Handler {
			between := httpsession.New(e.st, httpsession.WithCookie(httpsession.Cookie{Name: "prefs"}))
			return e.m.Handler(between.Handler(inner))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			h := tc.wrap(e, e.m.Handler(counter()))
			newReq := func() *http.Request { return httptest.NewRequest("GET", "https://app.example/", nil) }
			warnsOnce(t, e, h, newReq, warning, "nested Managers", tc.warn,
				"level=WARN", "cookie=session", "Middleware(mode)", "cookie name of its own")
		})
	}
}
