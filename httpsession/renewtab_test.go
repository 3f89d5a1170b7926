package httpsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// TestRenewWithOtherTab: a user logs in (Renew) in one tab while another
// tab's request, sent with the old cookie, waits for the session's lock or
// arrives just after. That request used to find no record, and if it
// changed anything it created a new session whose cookie, answered after
// the log in's, replaced the logged-in one: the user was logged out. Now
// the old ID holds a marker for a while: such a request reads no session,
// its change is refused (409) and its response sets no cookie, so the
// browser keeps the logged-in one. Once the marker has expired, the old
// cookie starts a fresh session as any unknown ID does.
func TestRenewWithOtherTab(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			oldID := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			login := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := s.Renew(); err != nil {
					t.Error(err)
				}
				s.Put("user", "ada")
			}))
			newID := mustCookie(t, do(t, login, oldID)).Value

			// The other tab's request, which changes the session.
			resp := do(t, e.m.Middleware(mode)(counter()), oldID)
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("a change with the old cookie answered %d, want 409", resp.StatusCode)
			}
			if c := sessionCookie(resp); c != nil {
				t.Errorf("the answer to the old cookie sets %v: it would replace the logged-in cookie", c)
			}
			// One that only reads sees no session and sets no cookie.
			show := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				fmt.Fprintf(w, "%q %d %v", s.GetString("user"), s.GetInt("n"), s.IsNew())
			}))
			resp = do(t, show, oldID)
			if got := body(t, resp); got != `"" 0 true` || sessionCookie(resp) != nil {
				t.Errorf("a read with the old cookie: %q, cookie %v; want no session and no cookie", got, sessionCookie(resp))
			}
			if got := body(t, do(t, show, newID)); got != `"ada" 1 false` {
				t.Errorf("the logged-in session reads %s", got)
			}

			// Long after, the old cookie is an unknown ID like any other.
			e.clk.Advance(time.Hour)
			resp = do(t, e.m.Middleware(mode)(counter()), oldID)
			if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "1" || sessionCookie(resp) == nil {
				t.Errorf("an hour later, the old cookie answered %d %q, cookie %v; want a fresh session", resp.StatusCode, got, sessionCookie(resp))
			}
		})
	}
}

// TestRenewedIDLater: the marker a Renew leaves refuses changes, not log
// ins. A log in retried with the old cookie (its answer, with the new
// cookie, was lost) logs the user in, at once and a minute later; and a
// request that sends both the old cookie (a leftover of a longer path, or
// a sibling subdomain's) and the new one reads the logged-in session.
func TestRenewedIDLater(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			login := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := s.Renew(); err != nil {
					t.Error(err)
				}
				s.Put("user", "ada")
			}))
			show := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%q", httpsession.FromContext(r.Context()).GetString("user"))
			}))
			for _, after := range []time.Duration{0, time.Minute} {
				oldID := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				newID := mustCookie(t, do(t, login, oldID)).Value
				e.clk.Advance(after)
				resp := do(t, login, oldID)
				c := sessionCookie(resp)
				if resp.StatusCode != http.StatusOK || c == nil || c.Value == oldID || c.Value == newID {
					t.Errorf("log in retried %v later with the old cookie: %d, cookie %v; want 200 and a fresh session", after, resp.StatusCode, c)
					continue
				}
				if got := body(t, do(t, show, c.Value)); got != `"ada"` {
					t.Errorf("the retried log in's session reads %s", got)
				}
			}

			oldID := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			newID := mustCookie(t, do(t, login, oldID)).Value
			req := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: oldID})
			req.AddCookie(&http.Cookie{Name: "session", Value: newID})
			rec := httptest.NewRecorder()
			show.ServeHTTP(rec, req)
			if got := body(t, rec.Result()); got != `"ada"` {
				t.Errorf("with the old and the new cookie: %s, want the logged-in session", got)
			}

			// A change sent with the old cookie a minute later is still
			// refused: no clock tells it from one under way at the log in
			// (the hosts' clocks differ, and the new cookie reaches the
			// browser only with the log in's answer, which may come late).
			e.clk.Advance(time.Minute)
			resp := do(t, e.m.Middleware(mode)(counter()), oldID)
			if resp.StatusCode != http.StatusConflict || sessionCookie(resp) != nil {
				t.Errorf("a minute later, a change with the old cookie: %d, cookie %v; want 409 and no cookie", resp.StatusCode, sessionCookie(resp))
			}
		})
	}
}
