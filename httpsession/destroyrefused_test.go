package httpsession_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestRefusedDestroyFailsRequest: a log out the session refuses (on a route
// held ReadOnly, such as a GET /logout among read-only pages, or after
// Release) returns its error, and a handler that drops it, as a log out
// handler often does, answered "logged out" with a 200 while the session
// lived on: the user walked away from a shared computer still logged in.
// The request now fails as a Delete refused there makes it fail: the
// error answer, naming Destroy and the fix, replaces the handler's, and
// the session is untouched (it was never destroyed, and the answer does
// not say it was).
func TestRefusedDestroyFailsRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode httpsession.Mode
		// before runs ahead of Destroy.
		before func(s *httpsession.Session) error
		want   error  // Destroy's error
		log    string // the commit's error names the fix
	}{
		{"read-only route", httpsession.ReadOnly, func(s *httpsession.Session) error { s.GetInt("n"); return nil }, fsstore.ErrReadOnly, "Exclusive or Optimistic mode"},
		{"read-only route, session unused", httpsession.ReadOnly, func(*httpsession.Session) error { return nil }, fsstore.ErrReadOnly, "Exclusive or Optimistic mode"},
		{"after Release", httpsession.Exclusive, func(s *httpsession.Session) error { s.GetInt("n"); return s.Release() }, httpsession.ErrReleased, "before Release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			before, err := e.st.Load(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			e.log.Reset()
			var destroyErr error
			h := e.m.Middleware(tc.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := tc.before(s); err != nil {
					t.Errorf("before Destroy: %v", err)
				}
				destroyErr = s.Destroy() // dropped, as log out handlers do
				fmt.Fprint(w, "logged out")
			}))
			resp := do(t, h, id)
			if !errors.Is(destroyErr, tc.want) {
				t.Errorf("Destroy: %v, want %v", destroyErr, tc.want)
			}
			if b := body(t, resp); resp.StatusCode != http.StatusInternalServerError || strings.Contains(b, "logged out") {
				t.Errorf("status %d, body %q: want the error answer (500), not the handler's", resp.StatusCode, b)
			}
			if c := sessionCookie(resp); c != nil {
				t.Errorf("cookie %v set, want none", c)
			}
			for _, want := range []string{"Destroy", tc.log} {
				if !strings.Contains(e.log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, e.log.String())
				}
			}
			if sess, err := e.st.Load(t.Context(), id); err != nil || sess.Version != before.Version {
				t.Errorf("session after a refused Destroy: %v (err %v), want it as it was", sess, err)
			}
		})
	}
}

// TestRefusedDestroyWithNoSession: a Destroy refused on a ReadOnly route or
// after Release, where there is no session to end (a log out of a user
// already logged out: no cookie, or a cookie naming no record, or a session
// Destroy already ended before Release), leaves nothing alive: the request
// is not failed, and the handler's answer goes out.
func TestRefusedDestroyWithNoSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   httpsession.Mode
		cookie string // "live": the seeded session's; "gone": an ID with no record
		before func(s *httpsession.Session) error
	}{
		{"read-only route, no cookie", httpsession.ReadOnly, "", func(*httpsession.Session) error { return nil }},
		{"read-only route, no cookie, session read", httpsession.ReadOnly, "", func(s *httpsession.Session) error { s.GetInt("n"); return nil }},
		{"read-only route, cookie of no session", httpsession.ReadOnly, "gone", func(s *httpsession.Session) error { s.GetInt("n"); return nil }},
		{"after Release, no cookie", httpsession.Exclusive, "", func(s *httpsession.Session) error { return s.Release() }},
		{"after Release, no cookie, session read", httpsession.Exclusive, "", func(s *httpsession.Session) error { s.GetInt("n"); return s.Release() }},
		{"after Release, cookie of no session", httpsession.Exclusive, "gone", func(s *httpsession.Session) error { s.GetInt("n"); return s.Release() }},
		{"destroyed, released, destroyed again", httpsession.Exclusive, "live", func(s *httpsession.Session) error {
			if err := s.Destroy(); err != nil {
				return err
			}
			return s.Release()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			cookie := ""
			switch tc.cookie {
			case "live":
				cookie = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			case "gone":
				id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				if err := e.st.Delete(t.Context(), id); err != nil {
					t.Fatal(err)
				}
				cookie = id
			}
			h := e.m.Middleware(tc.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := tc.before(s); err != nil {
					t.Errorf("before Destroy: %v", err)
				}
				_ = s.Destroy() // refused, with nothing left to end
				fmt.Fprint(w, "logged out")
			}))
			resp := do(t, h, cookie)
			if b := body(t, resp); resp.StatusCode != http.StatusOK || b != "logged out" {
				t.Errorf("status %d, body %q: want the handler's 200 (no session to end)\nlog:\n%s", resp.StatusCode, b, e.log.String())
			}
			if tc.cookie == "live" {
				if _, err := e.st.Load(t.Context(), cookie); !errors.Is(err, fsstore.ErrNotFound) {
					t.Errorf("session after Destroy and Release: err %v, want ErrNotFound", err)
				}
			}
		})
	}
}
