package httpsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// cacheDirectives returns the directives of a response's field lines, as
// lower-case names with their values, in order.
func cacheDirectives(lines []string) []string {
	var out []string
	for _, l := range lines {
		for d := range strings.SplitSeq(l, ",") { // the tests' values quote no comma
			if d = strings.TrimSpace(d); d != "" {
				name, val, ok := strings.Cut(d, "=")
				d = strings.ToLower(name)
				if ok {
					d += "=" + val
				}
				out = append(out, d)
			}
		}
	}
	return out
}

// TestSessionCookieIsPrivate: a response that sets or removes the session
// cookie tells shared caches not to store it (Cache-Control: private),
// whatever Cache-Control the handler set: a shared cache that replays it
// hands one user's session to the next visitor, or logs users out. The
// handler's directives stay, but for public and s-maxage, which would let
// a shared cache store it; its no-store stays as it is. A response that
// carries no session cookie keeps the handler's Cache-Control untouched.
func TestSessionCookieIsPrivate(t *testing.T) {
	scenarios := []struct {
		name     string
		existing bool // the request carries a saved session's cookie
		// handle changes the session; set sets the handler's headers.
		handle   func(t *testing.T, w http.ResponseWriter, s *httpsession.Session, set func())
		errorAns bool // the error handler answers: the handler's headers are dropped
	}{
		{"new session", false, func(t *testing.T, w http.ResponseWriter, s *httpsession.Session, set func()) {
			set()
			if err := s.Put("user", "ada"); err != nil {
				t.Error(err)
			}
		}, false},
		{"log out", true, func(t *testing.T, w http.ResponseWriter, s *httpsession.Session, set func()) {
			set()
			if err := s.Destroy(); err != nil {
				t.Error(err)
			}
		}, false},
		{"renew", true, func(t *testing.T, w http.ResponseWriter, s *httpsession.Session, set func()) {
			set()
			if err := s.Renew(); err != nil {
				t.Error(err)
			}
		}, false},
		{"header set after Release", false, func(t *testing.T, w http.ResponseWriter, s *httpsession.Session, set func()) {
			if err := s.Put("user", "ada"); err != nil {
				t.Error(err)
			}
			if err := s.Release(); err != nil {
				t.Error(err)
			}
			set()
		}, false},
		{"error answer after Release", false, func(t *testing.T, w http.ResponseWriter, s *httpsession.Session, set func()) {
			set()
			if err := s.Put("user", "ada"); err != nil {
				t.Error(err)
			}
			if err := s.Release(); err != nil {
				t.Error(err)
			}
			s.Delete("user") // after Release: the request fails, and its answer carries the cookie Release set
		}, true},
	}
	handlerCC := []struct {
		field string   // the handler's Cache-Control, "" for none
		kept  []string // its directives that must stay
	}{
		{"", nil},
		{"public, max-age=60", []string{"max-age=60"}},
		{"public", nil},
		{"max-age=60, s-maxage=600, must-revalidate", []string{"max-age=60", "must-revalidate"}},
		{"no-store", []string{"no-store"}},
		{"private, max-age=0", []string{"private", "max-age=0"}},
		{`private="X-Foo", max-age=60`, []string{`private="X-Foo"`, "max-age=60"}},
	}
	for _, sc := range scenarios {
		for _, cc := range handlerCC {
			t.Run(fmt.Sprintf("%s/%q", sc.name, cc.field), func(t *testing.T) {
				e := newEnv(t, nil)
				id := ""
				if sc.existing {
					id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				}
				h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					set := func() {
						if cc.field != "" {
							w.Header().Set("Cache-Control", cc.field)
							w.Header().Set("CDN-Cache-Control", cc.field)
						}
					}
					sc.handle(t, w, httpsession.FromContext(r.Context()), set)
					fmt.Fprint(w, "page")
				}))
				resp := do(t, h, id)
				body(t, resp)
				if sessionCookie(resp) == nil {
					t.Fatalf("no session cookie; headers %v", resp.Header)
				}
				got := cacheDirectives(resp.Header.Values("Cache-Control"))
				if !slices.Contains(got, "private") && !slices.Contains(got, "no-store") {
					t.Errorf("Cache-Control %q: shared caches may store the session cookie", got)
				}
				if !slices.Contains(got, `no-cache="Set-Cookie"`) {
					t.Errorf("Cache-Control %q lacks no-cache=\"Set-Cookie\"", got)
				}
				fields := map[string][]string{"Cache-Control": got}
				if !sc.errorAns && cc.field != "" {
					fields["CDN-Cache-Control"] = cacheDirectives(resp.Header.Values("CDN-Cache-Control"))
				}
				for name, got := range fields {
					for _, d := range got {
						if d == "public" || strings.HasPrefix(d, "s-maxage") {
							t.Errorf("%s %q: %s lets shared caches store the session cookie", name, got, d)
						}
					}
					if name == "CDN-Cache-Control" && !slices.Contains(got, "private") && !slices.Contains(got, "no-store") {
						t.Errorf("CDN-Cache-Control %q: CDNs may store the session cookie", got)
					}
					if sc.errorAns {
						continue
					}
					for _, d := range cc.kept {
						if !slices.Contains(got, d) {
							t.Errorf("%s %q lost the handler's %s", name, got, d)
						}
					}
				}
			})
		}
	}

	t.Run("no session cookie", func(t *testing.T) {
		e := newEnv(t, nil)
		id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Add("Set-Cookie", "theme=dark")
			fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
		}))
		resp := do(t, h, id)
		if got := body(t, resp); got != "1" {
			t.Fatalf("body %q, want 1", got)
		}
		if got := resp.Header.Values("Cache-Control"); !slices.Equal(got, []string{"public, max-age=60"}) {
			t.Errorf("Cache-Control %q, want the handler's alone", got)
		}
	})
}

// TestSessionCookieKeptFromSurrogates: the fields with which a CDN or a
// reverse proxy decides on its own caching, over Cache-Control
// (Surrogate-Control, as Fastly and Varnish read it; Akamai's
// Edge-Control; nginx's X-Accel-Expires), no longer let it store a
// response that sets or removes the session's cookie, where a handler's
// max-age in them had the cache keep the cookie, and hand it to the next
// visitor, whatever Cache-Control said. What is not about caching stays
// (the ESI processing a surrogate is asked for). A response without the
// session's cookie keeps them as the handler set them.
func TestSessionCookieKeptFromSurrogates(t *testing.T) {
	type fields = map[string]string
	for _, tc := range []struct {
		name    string
		handler fields // what the handler sets
		want    fields
	}{
		{"Surrogate-Control", fields{"Surrogate-Control": "max-age=600"}, fields{"Surrogate-Control": "no-store"}},
		{"Surrogate-Control targeted, with ESI", fields{"Surrogate-Control": `max-age=600;cdn1, content="ESI/1.0"`},
			fields{"Surrogate-Control": `content="ESI/1.0", no-store`}},
		{"Surrogate-Control stale", fields{"Surrogate-Control": "max-age=60, stale-while-revalidate=60, stale-if-error=86400"},
			fields{"Surrogate-Control": "no-store"}},
		{"Edge-Control", fields{"Edge-Control": "!no-store, cache-maxage=600s"}, fields{"Edge-Control": "no-store"}},
		{"Edge-Control with ESI", fields{"Edge-Control": "dca=esi, cache-maxage=1h"}, fields{"Edge-Control": "dca=esi, no-store"}},
		// A quote the handler left open would take in the no-store put
		// after it ("content=\"ESI/1.0, no-store"): a directive with one
		// is not kept.
		{"Surrogate-Control with a quote left open", fields{"Surrogate-Control": `content="ESI/1.0, max-age=600`},
			fields{"Surrogate-Control": "no-store"}},
		{"Edge-Control with a quote left open", fields{"Edge-Control": `dca="esi, cache-maxage=1h`}, fields{"Edge-Control": "no-store"}},
		{"X-Accel-Expires", fields{"X-Accel-Expires": "600"}, fields{"X-Accel-Expires": "0"}},
		{"X-Accel-Expires at a time", fields{"X-Accel-Expires": "@4102444800"}, fields{"X-Accel-Expires": "0"}},
		{"all of them", fields{"Surrogate-Control": "max-age=600", "Edge-Control": "cache-maxage=600s", "X-Accel-Expires": "600", "Cache-Control": "public, max-age=600"},
			fields{"Surrogate-Control": "no-store", "Edge-Control": "no-store", "X-Accel-Expires": "0"}},
	} {
		for _, scenario := range []string{"new session", "log out", "no session cookie"} {
			t.Run(tc.name+"/"+scenario, func(t *testing.T) {
				e := newEnv(t, nil)
				id := ""
				if scenario != "new session" {
					id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				}
				h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tc.handler {
						w.Header().Set(k, v)
					}
					s := httpsession.FromContext(r.Context())
					switch scenario {
					case "new session":
						if err := s.Put("user", "ada"); err != nil {
							t.Error(err)
						}
					case "log out":
						if err := s.Destroy(); err != nil {
							t.Error(err)
						}
					default:
						s.GetInt("n")
					}
					fmt.Fprint(w, "page")
				}))
				resp := do(t, h, id)
				body(t, resp)
				if (sessionCookie(resp) == nil) != (scenario == "no session cookie") {
					t.Fatalf("session cookie %v in a %s answer", sessionCookie(resp), scenario)
				}
				want := tc.want
				if scenario == "no session cookie" {
					want = tc.handler
				}
				for k, v := range want {
					if k == "Cache-Control" {
						continue
					}
					if got := resp.Header.Values(k); !slices.Equal(got, []string{v}) {
						t.Errorf("%s %q, want %q", k, got, v)
					}
				}
			})
		}
	}
}

// TestKeepFromSharedCaches: what an outer writer calls last readies the
// header as the middleware does: Vary names Cookie, and a header that
// sets or removes this Manager's cookie, and only such a one, is private.
func TestKeepFromSharedCaches(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Name: "sid"}))
	for _, tc := range []struct {
		name   string
		header http.Header
		wantCC []string
	}{
		{"session cookie", http.Header{"Set-Cookie": {"sid=abc; Path=/"}, "Cache-Control": {"public, max-age=60"}, "Vary": {"Accept-Encoding"}}, []string{"max-age=60", "private"}},
		{"session cookie removed", http.Header{"Set-Cookie": {"sid=; Max-Age=0"}, "X-Accel-Expires": {"60"}}, []string{"private"}},
		{"another cookie", http.Header{"Set-Cookie": {"sidebar=1"}, "Cache-Control": {"public, max-age=60"}}, []string{"public, max-age=60"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header.Clone()
			e.m.KeepFromSharedCaches(h)
			if got := h.Values("Cache-Control"); !slices.Equal(got, tc.wantCC) {
				t.Errorf("Cache-Control %q, want %q", got, tc.wantCC)
			}
			if !slices.ContainsFunc(h.Values("Vary"), func(v string) bool { return strings.Contains(v, "Cookie") }) {
				t.Errorf("Vary %q, want Cookie among them", h.Values("Vary"))
			}
			if x := h.Get("X-Accel-Expires"); x != "" && x != "0" {
				t.Errorf("X-Accel-Expires %q, want 0", x)
			}
		})
	}
}

// TestNonCanonicalCachingFields: caching fields put into the header map
// under a key that is not in canonical form (h["cache-control"], as code
// written for HTTP/2's lower-case names does) count as the fields they
// are: net/http sends them, and caches match field names regardless of
// case. They went out untouched beside the session cookie, and beside an
// error answer's no-store.
func TestNonCanonicalCachingFields(t *testing.T) {
	set := func(h http.Header) {
		h["cache-control"] = []string{"public, max-age=600"}
		h["surrogate-control"] = []string{"max-age=600"}
		h["x-accel-expires"] = []string{"600"}
		h["cdn-cache-control"] = []string{"max-age=600"}
		h["expires"] = []string{"Thu, 01 Jan 2099 00:00:00 GMT"}
	}
	// fields gathers the response's lines of name, whatever the case of
	// their keys.
	fields := func(h http.Header, name string) []string {
		var out []string
		for k, v := range h {
			if strings.EqualFold(k, name) {
				out = append(out, v...)
			}
		}
		return out
	}
	t.Run("session cookie", func(t *testing.T) {
		e := newEnv(t, nil)
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			set(w.Header())
			if err := httpsession.FromContext(r.Context()).Put("user", "ada"); err != nil {
				t.Error(err)
			}
			fmt.Fprint(w, "page")
		}))
		resp := do(t, h, "")
		if sessionCookie(resp) == nil {
			t.Fatal("no session cookie")
		}
		for _, d := range cacheDirectives(fields(resp.Header, "Cache-Control")) {
			if d == "public" {
				t.Errorf("Cache-Control %q: public beside the session cookie", fields(resp.Header, "Cache-Control"))
			}
		}
		for name, want := range map[string]string{"Surrogate-Control": "no-store", "X-Accel-Expires": "0"} {
			if got := fields(resp.Header, name); !slices.Equal(got, []string{want}) {
				t.Errorf("%s %q, want %q", name, got, want)
			}
		}
	})
	t.Run("error answer", func(t *testing.T) {
		e := newEnv(t, nil, httpsession.WithLockTimeout(-1)) // every request fails
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			set(w.Header())
			e.m.Handler(counter()).ServeHTTP(w, r)
		})
		resp := do(t, outer, "")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", resp.StatusCode)
		}
		if got := cacheDirectives(fields(resp.Header, "Cache-Control")); !slices.Equal(got, []string{"max-age=600", "no-store"}) {
			t.Errorf("Cache-Control %q, want the outer middleware's without public, and no-store", got)
		}
		for _, name := range []string{"Surrogate-Control", "X-Accel-Expires", "Cdn-Cache-Control", "Expires"} {
			if got := fields(resp.Header, name); len(got) > 0 {
				t.Errorf("the error answer carries the outer middleware's %s: %q", name, got)
			}
		}
	})
}

// TestSessionCookiePrivateOpenQuote: a Cache-Control line of the
// handler's with a quote left open (no-cache="X-Foo, public, max-age=600)
// would take in the private added after it, the lines of a field making
// one list: such a line is dropped from a response with the session's
// cookie, which is kept private.
func TestSessionCookiePrivateOpenQuote(t *testing.T) {
	for _, line := range []string{`no-cache="X-Foo, public, max-age=600`, `public, max-age=600, community="x`, `"`} {
		t.Run(line, func(t *testing.T) {
			e := newEnv(t, nil)
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", line)
				w.Header().Set("CDN-Cache-Control", line)
				if err := httpsession.FromContext(r.Context()).Put("user", "ada"); err != nil {
					t.Error(err)
				}
				fmt.Fprint(w, "page")
			}))
			resp := do(t, h, "")
			body(t, resp)
			if sessionCookie(resp) == nil {
				t.Fatal("no session cookie")
			}
			for _, k := range []string{"Cache-Control", "Cdn-Cache-Control"} {
				joined := strings.Join(resp.Header.Values(k), ", ")
				if strings.Count(joined, `"`)%2 != 0 || strings.Contains(joined, "public") || !strings.Contains(joined, "private") {
					t.Errorf("%s %q with the session cookie: shared caches may store it", k, resp.Header.Values(k))
				}
			}
		})
	}
}

// publicAtWriteHeader is a writer whose WriteHeader lets shared caches
// store the response, as a caching middleware's wrapper may. It unwraps,
// as http.ResponseController asks of wrappers.
type publicAtWriteHeader struct{ http.ResponseWriter }

func (w publicAtWriteHeader) WriteHeader(code int) {
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Surrogate-Control", "max-age=60")
	w.ResponseWriter.WriteHeader(code)
}

func (w publicAtWriteHeader) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w publicAtWriteHeader) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// partitionAtWriteHeader adds Partitioned to every cookie the response
// sets as it starts, as a middleware that hardens the cookies an
// application sets may, and then writes through publicAtWriteHeader.
type partitionAtWriteHeader struct{ publicAtWriteHeader }

func (w partitionAtWriteHeader) WriteHeader(code int) {
	for i, l := range w.Header()["Set-Cookie"] {
		if !strings.Contains(l, "; Partitioned") {
			w.Header()["Set-Cookie"][i] = l + "; Partitioned"
		}
	}
	w.publicAtWriteHeader.WriteHeader(code)
}

func (w partitionAtWriteHeader) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// publicOpaque is publicAtWriteHeader without Unwrap.
type publicOpaque struct{ w http.ResponseWriter }

func (o publicOpaque) Header() http.Header { return o.w.Header() }

func (o publicOpaque) WriteHeader(code int) { publicAtWriteHeader{o.w}.WriteHeader(code) }

func (o publicOpaque) Write(b []byte) (int, error) { return publicAtWriteHeader{o.w}.Write(b) }

// TestWrapperBetweenManagersKeepsInnerCookiePrivate: with the middlewares
// of two Managers (cookies of their own names) around a route and, between
// them, a writer whose WriteHeader sets caching fields, the inner
// Manager's cookie went out with them: the inner middleware readied the
// header before that writer, and the outer one readied it for its own
// cookie only. A writer that also adds an attribute to the cookies it
// finds (Partitioned) is overruled as well: the outer middleware knows the
// inner one's cookie by its name, as its own, where it looked for the line
// as the inner one set it. So is one that does not unwrap, which hid the
// outer middleware's writer from the inner one.
func TestWrapperBetweenManagersKeepsInnerCookiePrivate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		wrap  func(w http.ResponseWriter) http.ResponseWriter
		write func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) http.ResponseWriter { return publicAtWriteHeader{w} },
			func(w http.ResponseWriter) { io.WriteString(w, "ok") }},
		{"WriteHeader", func(w http.ResponseWriter) http.ResponseWriter { return publicAtWriteHeader{w} },
			func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }},
		{"cookie attribute added, Write", func(w http.ResponseWriter) http.ResponseWriter { return partitionAtWriteHeader{publicAtWriteHeader{w}} },
			func(w http.ResponseWriter) { io.WriteString(w, "ok") }},
		{"cookie attribute added, WriteHeader", func(w http.ResponseWriter) http.ResponseWriter { return partitionAtWriteHeader{publicAtWriteHeader{w}} },
			func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }},
		{"no Unwrap, Write", func(w http.ResponseWriter) http.ResponseWriter { return publicOpaque{w} },
			func(w http.ResponseWriter) { io.WriteString(w, "ok") }},
		{"no Unwrap, WriteHeader", func(w http.ResponseWriter) http.ResponseWriter { return publicOpaque{w} },
			func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := newEnv(t, nil)
			inner := httpsession.New(outer.st, httpsession.WithCookie(httpsession.Cookie{Name: "admin"}))
			route := inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := httpsession.FromContext(r.Context()).Put("n", 1); err != nil {
					t.Error(err)
				}
				tc.write(w)
			}))
			h := outer.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				route.ServeHTTP(tc.wrap(w), r)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
			if !strings.Contains(rec.Header().Get("Set-Cookie"), "admin=") {
				t.Fatalf("status %d, no cookie of the inner Manager: %q", rec.Code, rec.Header().Values("Set-Cookie"))
			}
			if got := cacheDirectives(rec.Header().Values("Cache-Control")); !slices.Contains(got, "private") || slices.Contains(got, "public") {
				t.Errorf("Cache-Control %q, want private and no public", rec.Header().Values("Cache-Control"))
			}
			if sc := rec.Header().Get("Surrogate-Control"); sc != "no-store" {
				t.Errorf("Surrogate-Control %q, want no-store", sc)
			}
		})
	}
}
