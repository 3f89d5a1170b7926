package httpsession_test

import (
	"fmt"
	"net/http"
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
