package httpsession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestErrorAnswerHeaders: when the session cannot be committed, the
// error handler's answer replaces the handler's response, and with it
// only what the handler set. What outer middlewares set before the
// session middleware ran (CORS, a request ID, their Vary) stays, or a
// browser could not even read the 503; and a cookie a successful Release
// already committed stays, since its record is saved (and after Renew the
// old one deleted): without it the user would hold no session.
func TestErrorAnswerHeaders(t *testing.T) {
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
			w.Header().Set("X-Request-Id", "abc")
			w.Header().Add("Vary", "Origin")
			next.ServeHTTP(w, r)
		})
	}
	// handlerHeaders sets what describes the response that is not sent.
	handlerHeaders := func(w http.ResponseWriter) {
		h := w.Header()
		h.Set("Location", "/next")
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", "1234")
		h.Set("X-Handler", "1")
		h.Set("Access-Control-Allow-Origin", "https://handler.example")
		h.Add("Set-Cookie", "csrf=x")
	}
	type errorCase struct {
		name       string
		opts       []httpsession.Option
		lockedOut  bool // another holder has the session's lock
		handler    func(t *testing.T, w http.ResponseWriter, s *httpsession.Session)
		wantStatus int
		wantCookie string // "renewed", "new" or "" for none
	}
	tests := []errorCase{
		{
			name:      "lock wait timed out",
			opts:      []httpsession.Option{httpsession.WithLockTimeout(50 * time.Millisecond)},
			lockedOut: true,
			handler: func(t *testing.T, w http.ResponseWriter, s *httpsession.Session) {
				handlerHeaders(w)
				fmt.Fprint(w, s.GetInt("n"))
			},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name: "change after a Release that renewed",
			handler: func(t *testing.T, w http.ResponseWriter, s *httpsession.Session) {
				s.Put("user", "ada")
				s.Put("flash", "welcome")
				if err := s.Renew(); err != nil {
					t.Error(err)
				}
				if err := s.Release(); err != nil {
					t.Error(err)
				}
				handlerHeaders(w)
				fmt.Fprint(w, s.PopString("flash"))
			},
			wantStatus: http.StatusInternalServerError,
			wantCookie: "renewed",
		},
		{
			name: "change after a Release that destroyed and created",
			handler: func(t *testing.T, w http.ResponseWriter, s *httpsession.Session) {
				s.GetInt("n")
				s.Destroy()
				s.Put("flash", "bye")
				if err := s.Release(); err != nil {
					t.Error(err)
				}
				handlerHeaders(w)
				fmt.Fprint(w, s.PopString("flash"))
			},
			wantStatus: http.StatusInternalServerError,
			wantCookie: "new",
		},
	}
	run := func(t *testing.T, tt errorCase, withOuter bool) {
		e := newEnv(t, nil, tt.opts...)
		id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
		if tt.lockedOut {
			lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer lk.Unlock()
		}
		wrap := outer
		if !withOuter {
			wrap = func(next http.Handler) http.Handler { return next }
		}
		h := wrap(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tt.handler(t, w, httpsession.FromContext(r.Context()))
		})))
		resp := do(t, h, id)
		if resp.StatusCode != tt.wantStatus {
			t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin": "https://app.example",
			"X-Request-Id":                "abc",
			"Location":                    "",
			"X-Handler":                   "",
		}
		wantVary := []string{"Origin", "Cookie"}
		if !withOuter {
			want["Access-Control-Allow-Origin"], want["X-Request-Id"] = "", ""
			wantVary = []string{"Cookie"}
		}
		for name, want := range want {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		if got := resp.Header.Values("Vary"); !slices.Equal(got, wantVary) {
			t.Errorf("Vary %q, want %q", got, wantVary)
		}
		if got := resp.Header.Get("Content-Type"); strings.Contains(got, "json") {
			t.Errorf("Content-Type %q: the handler's", got)
		}
		if b := body(t, resp); resp.ContentLength == 1234 || strings.Contains(b, "welcome") || strings.Contains(b, "bye") {
			t.Errorf("length %d, body %q: the handler's", resp.ContentLength, b)
		}
		if setCookieHeader(resp, "csrf") != "" {
			t.Error("the handler's own cookie was sent with the error answer")
		}
		c := sessionCookie(resp)
		if tt.wantCookie == "" {
			if c != nil {
				t.Errorf("session cookie %v with the error answer", c)
			}
			return
		}
		if c == nil || c.Value == "" || c.Value == id {
			t.Fatalf("session cookie %v, want the %s session's (headers %v)", c, tt.wantCookie, resp.Header)
		}
		if !slices.Contains(resp.Header.Values("Cache-Control"), `no-cache="Set-Cookie"`) {
			t.Errorf("Cache-Control %q: caches may store the cookie", resp.Header.Values("Cache-Control"))
		}
		if _, err := e.st.Load(t.Context(), c.Value); err != nil {
			t.Errorf("the cookie's session: %v", err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt, true) })
		t.Run(tt.name+", no outer middleware", func(t *testing.T) { run(t, tt, false) })
	}
}

// TestClientGoneDuringLockWait: a client that goes away while its request
// waits for the session's lock is answered 499 and logged at Info, not as
// a server error (a 500 and an ERROR line for every closed tab).
func TestClientGoneDuringLockWait(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // gone before the wait begins: it ends at once
	req := httptest.NewRequest("GET", "http://example.com/", nil).WithContext(ctx)
	req.AddCookie(&http.Cookie{Name: "session", Value: id})
	rec := httptest.NewRecorder()
	e.m.Handler(counter()).ServeHTTP(rec, req)
	if rec.Code != httpsession.StatusClientClosedRequest {
		t.Errorf("status %d, want %d", rec.Code, httpsession.StatusClientClosedRequest)
	}
	if strings.Contains(e.log.String(), "level=ERROR") {
		t.Errorf("a client's hang-up logged as an error: %s", e.log.String())
	}
}

// TestErrorAnswerIsNotCached: the default error handler's answer is
// Cache-Control: no-store, whatever caching an outer middleware set for
// the route's pages (a public max-age, CDN-Cache-Control,
// Surrogate-Control, nginx's X-Accel-Expires, Expires): a shared cache, or
// the browser's, kept the outage's 503 and handed it out once the store
// was back, as scsstore.ErrorFunc's answer no longer lets it.
func TestErrorAnswerIsNotCached(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithLockTimeout(50*time.Millisecond))
	id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
	lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	caching, outer := cachingMiddleware()
	resp := do(t, outer(e.m.Handler(counter())), id)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	if cc := resp.Header.Values("Cache-Control"); !slices.Equal(cc, []string{"max-age=600", "no-store"}) {
		t.Errorf("Cache-Control %q, want the outer middleware's without public, and no-store", cc)
	}
	// Without an outer middleware's Cache-Control, no-store alone.
	resp = do(t, e.m.Handler(counter()), id)
	if cc := resp.Header.Values("Cache-Control"); resp.StatusCode != http.StatusServiceUnavailable || !slices.Equal(cc, []string{"no-store"}) {
		t.Errorf("status %d, Cache-Control %q, want 503 and no-store", resp.StatusCode, cc)
	}
	for k := range caching {
		if k != "Cache-Control" && resp.Header.Get(k) != "" {
			t.Errorf("the error answer carries the outer middleware's %s: %q", k, resp.Header.Get(k))
		}
	}
}

// TestCustomErrorAnswerIsNotCached: an error handler of the
// application's own (WithErrorHandler) answers with the header readied as
// for the default one: Cache-Control no-store, without the caching fields
// an outer middleware set for the route's pages, where it got them as they
// were and a shared cache could hand out its outage page once the store
// was back. A handler that sets a Cache-Control of its own (Set) still
// has the last word.
func TestCustomErrorAnswerIsNotCached(t *testing.T) {
	caching, outer := cachingMiddleware()
	page := func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(httpsession.StatusCode(err))
		fmt.Fprint(w, "<p>Sorry, please try again.</p>")
	}
	own := func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("Cache-Control", "private, max-age=5")
		page(w, r, err)
	}
	for _, tc := range []struct {
		name    string
		handler func(http.ResponseWriter, *http.Request, error)
		opts    []httpsession.Option
		locked  bool // another holder has the session's lock
		want    int
		wantCC  []string
	}{
		{"lock wait timed out", page, nil, true, http.StatusServiceUnavailable, []string{"max-age=600", "no-store"}},
		{"invalid configuration", page, []httpsession.Option{httpsession.WithLockTimeout(-1)}, false, http.StatusInternalServerError, []string{"max-age=600", "no-store"}},
		{"handler's own Cache-Control", own, nil, true, http.StatusServiceUnavailable, []string{"private, max-age=5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]httpsession.Option{httpsession.WithLockTimeout(50 * time.Millisecond), httpsession.WithErrorHandler(tc.handler)}, tc.opts...)
			e := newEnv(t, nil, opts...)
			id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
			if tc.locked {
				lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				defer lk.Unlock()
			}
			resp := do(t, outer(e.m.Handler(counter())), id)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if cc := resp.Header.Values("Cache-Control"); !slices.Equal(cc, tc.wantCC) {
				t.Errorf("Cache-Control %q, want %q", cc, tc.wantCC)
			}
			for k := range caching {
				if k != "Cache-Control" && resp.Header.Get(k) != "" {
					t.Errorf("the error answer carries the outer middleware's %s: %q", k, resp.Header.Get(k))
				}
			}
		})
	}
}

// TestCustomErrorAnswerKeepsCookiePrivate: an error answer that carries
// the session's cookie (that of a Release which renewed the ID, saved
// before the failure) is kept from shared caches as the response starts,
// whatever caching fields an error handler of the application's own set
// for its page: a CDN that stored it would hand the session to the next
// visitor.
func TestCustomErrorAnswerKeepsCookiePrivate(t *testing.T) {
	caching := func(w http.ResponseWriter) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Surrogate-Control", "max-age=600")
		w.Header()["x-accel-expires"] = []string{"600"}
	}
	for _, tc := range []struct {
		name    string
		handler func(http.ResponseWriter, *http.Request, error)
		want    int
	}{
		{"a page", func(w http.ResponseWriter, r *http.Request, err error) {
			caching(w)
			w.WriteHeader(httpsession.StatusCode(err))
			fmt.Fprint(w, "<p>Sorry, please try again.</p>")
		}, http.StatusInternalServerError},
		// net/http sends the header as the handler leaves it.
		{"nothing written", func(w http.ResponseWriter, r *http.Request, err error) { caching(w) }, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, httpsession.WithErrorHandler(tc.handler))
			id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				s.Put("user", "ada")
				s.Put("flash", "welcome")
				if err := s.Renew(); err != nil {
					t.Error(err)
				}
				if err := s.Release(); err != nil {
					t.Error(err)
				}
				fmt.Fprint(w, s.PopString("flash")) // a change after the Release: the request fails
			}))
			resp := do(t, h, id)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if c := sessionCookie(resp); c == nil || c.Value == id {
				t.Fatalf("session cookie %v, want the renewed one", c)
			}
			cc := strings.Join(resp.Header.Values("Cache-Control"), ", ")
			if strings.Contains(cc, "public") || !strings.Contains(cc, "private") {
				t.Errorf("Cache-Control %q with the session cookie: shared caches may store it", cc)
			}
			if sc := resp.Header.Get("Surrogate-Control"); sc != "no-store" {
				t.Errorf("Surrogate-Control %q with the session cookie, want no-store", sc)
			}
			if xa := resp.Header.Get("X-Accel-Expires"); xa != "0" {
				t.Errorf("X-Accel-Expires %q with the session cookie, want 0", xa)
			}
		})
	}
}

// cachingMiddleware returns the caching fields an outer middleware sets
// for a route's pages (every kind a shared cache obeys), and that
// middleware.
func cachingMiddleware() (map[string]string, func(http.Handler) http.Handler) {
	caching := map[string]string{
		"Cache-Control":     "public, max-age=600",
		"Cdn-Cache-Control": "max-age=600",
		"Surrogate-Control": "max-age=600",
		"Edge-Control":      "cache-maxage=600s",
		"X-Accel-Expires":   "600",
		"Expires":           "Thu, 01 Jan 2099 00:00:00 GMT",
	}
	return caching, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range caching {
				w.Header().Set(k, v)
			}
			next.ServeHTTP(w, r)
		})
	}
}
