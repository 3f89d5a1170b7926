package httpsession_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestVaryCookieKept: every response varies by cookie, also when the
// handler, or a middleware inside this one (a gzip middleware that sets
// Vary: Accept-Encoding), replaced or deleted the Vary field the
// middleware put in: a shared cache would otherwise serve one user's
// page, which reads the session, to another. A Vary that already names
// Cookie, or is "*", is left as it is.
func TestVaryCookieKept(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(h http.Header)
		write bool // write a body; otherwise the middleware commits at the end
		want  []string
	}{
		{"set", func(h http.Header) { h.Set("Vary", "Accept-Encoding") }, true, []string{"Accept-Encoding", "Cookie"}},
		{"set, nothing written", func(h http.Header) { h.Set("Vary", "Origin") }, false, []string{"Origin", "Cookie"}},
		{"deleted", func(h http.Header) { h.Del("Vary") }, true, []string{"Cookie"}},
		{"added", func(h http.Header) { h.Add("Vary", "Origin") }, true, []string{"Cookie", "Origin"}},
		{"set with cookie", func(h http.Header) { h.Set("Vary", "Origin, cookie") }, true, []string{"Origin, cookie"}},
		{"star", func(h http.Header) { h.Set("Vary", "*") }, true, []string{"*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := httpsession.FromContext(r.Context()).Put("n", 1); err != nil {
					t.Error(err)
				}
				tc.set(w.Header())
				if tc.write {
					w.Write([]byte("ok"))
				}
			}))
			resp := do(t, h, "")
			mustCookie(t, resp)
			if got := resp.Header.Values("Vary"); !slices.Equal(got, tc.want) {
				t.Errorf("Vary %q, want %q", got, tc.want)
			}
		})
	}
}
