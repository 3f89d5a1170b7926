package httpsession_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestSubRequestCookieStaysInItsAnswer: a handler that serves a request of
// its own through another Manager's middleware, with the request's context
// and a recorder (a page that renders a fragment of the site), gets that
// sub-request's cookie in the recorder, and decides whether the page sends
// it. The error answer of the page's Manager, whose commit failed, carries
// it exactly when the handler sent it on, as the page would have, where it
// carried it always: the middleware inside handed its cookie through the
// context as if the recorder were a writer of the page's (as
// http.TimeoutHandler's is), and the user's own prefs cookie was replaced
// by one naming the session of a request the server made for itself.
func TestSubRequestCookieStaysInItsAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sub     func(r *http.Request) *http.Request
		forward bool // the handler copies the sub-request's header into its own
	}{
		{"new request, discarded", newSubRequest, false},
		{"new request, forwarded", newSubRequest, true},
		{"the request with its context, discarded", func(r *http.Request) *http.Request { return r.WithContext(r.Context()) }, false},
		{"the request with its context, forwarded", func(r *http.Request) *http.Request { return r.WithContext(r.Context()) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(256)})
			b := httpsession.New(a.st, httpsession.WithCookie(httpsession.Cookie{Name: "prefs"}), httpsession.WithLogger(slog.New(slog.DiscardHandler)))
			userPrefs := seedPrefs(t, b)
			fragment := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := s.Put("seen", true); err != nil {
					t.Error(err)
				}
				// A new ID for the session the sub-request carries the
				// cookie of, as a login does.
				if err := s.Renew(); err != nil {
					t.Error(err)
				}
				fmt.Fprint(w, "fragment")
			}))
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Too large for the store: A's commit fails.
				if err := httpsession.FromContext(r.Context()).Put("big", strings.Repeat("x", 1024)); err != nil {
					t.Error(err)
				}
				rec := httptest.NewRecorder()
				fragment.ServeHTTP(rec, tc.sub(r))
				if tc.forward {
					maps.Copy(w.Header(), rec.Header())
				}
				fmt.Fprint(w, "page with ", rec.Body.String())
			})
			srv := serve(t, a.m.Handler(page))
			req, err := http.NewRequest("GET", srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "prefs", Value: userPrefs})
			resp, err := client(t, srv).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := body(t, resp); resp.StatusCode != http.StatusInternalServerError || strings.Contains(got, "page") {
				t.Fatalf("answer %d %q; want A's error answer alone", resp.StatusCode, got)
			}
			var prefs *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "prefs" {
					prefs = c
				}
			}
			switch {
			case !tc.forward && prefs != nil:
				t.Errorf("the error answer carries the sub-request's cookie %q, which the handler did not send: the user's prefs cookie (%s) is replaced by it", prefs.String(), userPrefs)
			case tc.forward && prefs == nil:
				t.Errorf("the error answer carries no prefs cookie (Set-Cookie %q): the handler sent on the sub-request's, whose session is saved", resp.Header.Values("Set-Cookie"))
			case tc.forward:
				if sess, err := a.st.Load(context.Background(), prefs.Value); err != nil || !strings.Contains(string(sess.Data), "seen") {
					t.Errorf("the prefs cookie names no saved session: %v", err)
				}
			}
		})
	}
}

// newSubRequest is a request the server makes for itself, with the
// request's context and none of its cookies.
func newSubRequest(r *http.Request) *http.Request {
	sub, err := http.NewRequestWithContext(r.Context(), "GET", "/fragment", nil)
	if err != nil {
		panic(err)
	}
	return sub
}

// seedPrefs saves a session of b's and returns its ID.
func seedPrefs(t *testing.T, b *httpsession.Manager) string {
	t.Helper()
	resp := do(t, b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Put("theme", "dark"); err != nil {
			t.Error(err)
		}
	})), "")
	for _, c := range resp.Cookies() {
		if c.Name == "prefs" {
			return c.Value
		}
	}
	t.Fatal("no prefs cookie")
	return ""
}
