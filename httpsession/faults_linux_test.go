//go:build linux

package httpsession_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestFullOrReadOnlyFileSystem: the store's file system fills up (ENOSPC)
// or turns read-only (EROFS, a kernel remount after an error) under a
// running application. What the user's request gets, route mode by route
// mode and action by action: both pass, and are answered 503 with
// Retry-After. A log out still works on a full disk (it frees space); on a
// read-only mount a route that only reads in Optimistic or ReadOnly mode is
// still served, but Exclusive mode cannot open the lock file. A read-only
// mount is this host's alone: its readiness probe fails from the first
// write refused (TestHealthHandlerReadOnlyMount), so the client's retry
// reaches a host that can serve it, where a 500 said not to retry. The
// error answer sets no
// cookie and replaces the handler's response, the log names the cause, and
// every session saved before is intact, ready for use once the operator
// frees space or remounts read-write.
func TestFullOrReadOnlyFileSystem(t *testing.T) {
	type want struct {
		status int
		body   string // "" when the error answer replaces the handler's
		expire bool   // the session cookie is removed (log out); else no cookie at all
		// refused: the route refused the action (a Destroy in ReadOnly
		// mode), whatever the fault: the log names that, not the fault.
		refused bool
	}
	ok, failed := func(body string) want { return want{status: http.StatusOK, body: body} }, func(code int) want { return want{status: code} }
	refused := want{status: http.StatusInternalServerError, refused: true} // a log out refused, not done
	acts := []struct {
		name   string
		cookie bool // the request carries the seeded session's cookie
		do     func(s *httpsession.Session) error
	}{
		{"read", true, func(s *httpsession.Session) error { return nil }},
		{"update", true, func(s *httpsession.Session) error { return s.Put("pad", strings.Repeat("p", 8<<10)) }},
		{"new session", false, func(s *httpsession.Session) error { return s.Put("pad", strings.Repeat("p", 8<<10)) }},
		{"renew", true, func(s *httpsession.Session) error { return s.Renew() }},
		{"destroy", true, func(s *httpsession.Session) error { return s.Destroy() }},
	}
	tests := []struct {
		fault, log string
		// want gives the answer for a mode and an action.
		want func(mode httpsession.Mode, act string) want
	}{
		{"disk full", "no space left on device", func(mode httpsession.Mode, act string) want {
			switch {
			case mode == httpsession.ReadOnly && act == "destroy":
				return refused
			case mode == httpsession.ReadOnly || act == "read":
				return ok("1")
			case act == "destroy":
				return want{status: http.StatusOK, body: "1", expire: true}
			}
			return failed(http.StatusServiceUnavailable)
		}},
		{"read-only mount", "read-only file system", func(mode httpsession.Mode, act string) want {
			switch {
			case mode == httpsession.ReadOnly && act == "destroy":
				return refused
			case mode == httpsession.ReadOnly, mode == httpsession.Optimistic && act == "read":
				return ok("1")
			}
			return failed(http.StatusServiceUnavailable)
		}},
	}
	for _, tt := range tests {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
			for _, act := range acts {
				t.Run(tt.fault+"/"+mode.String()+"/"+act.name, func(t *testing.T) {
					mnt := testenv.MountTmpfs(t, "1m")
					dir := filepath.Join(mnt, "store")
					if err := os.Mkdir(dir, 0o700); err != nil {
						t.Fatal(err)
					}
					clk := fakeclock.New()
					st, err := fsstore.Open(dir, fsstore.WithClock(clk.Now), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithIdleTimeout(10*time.Minute))
					if err != nil {
						t.Fatal(err)
					}
					defer st.Close()
					var logs bytes.Buffer
					m := httpsession.New(st, httpsession.WithClock(clk.Now), httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))))
					// Seeded without a lock: a remount read-only fails with
					// EBUSY while a lock file is open for writing.
					ids := seedSessions(t, st, 2)
					id, other := ids[0], ids[1]
					var restore func()
					if tt.fault == "disk full" {
						restore = testenv.FillUp(t, mnt)
					} else {
						testenv.RemountTmpfs(t, mnt, true)
						restore = func() { testenv.RemountTmpfs(t, mnt, false) }
					}
					var actErr error
					h := m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						s := httpsession.FromContext(r.Context())
						n := s.GetInt("n")
						if err := act.do(s); err != nil && mode != httpsession.ReadOnly {
							actErr = err // the load's error: the error answer replaces this one
						}
						w.Header().Set("X-Handler", "1")
						fmt.Fprint(w, n)
					}))
					cookie := ""
					if act.cookie {
						cookie = id
					}
					resp := do(t, h, cookie)
					restore()

					w := tt.want(mode, act.name)
					b := body(t, resp)
					if resp.StatusCode != w.status {
						t.Fatalf("status %d, body %q: want %d", resp.StatusCode, b, w.status)
					}
					c := sessionCookie(resp)
					switch {
					case w.expire && (c == nil || c.MaxAge >= 0):
						t.Errorf("cookie %v: want the session's removed", c)
					case !w.expire && c != nil:
						t.Errorf("cookie %v set: want none", c)
					}
					if w.status == http.StatusOK && actErr != nil {
						t.Errorf("%s: %v", act.name, actErr)
					}
					if !act.cookie && w.body != "" {
						w.body = "0"
					}
					if w.body != "" && b != w.body {
						t.Errorf("body %q, want %q", b, w.body)
					}
					if w.status != http.StatusOK {
						if resp.Header.Get("X-Handler") != "" || strings.Contains(b, "1") {
							t.Errorf("the handler's answer was sent: header %v, body %q", resp.Header, b)
						}
						if got := resp.Header.Get("Retry-After"); (w.status == http.StatusServiceUnavailable) != (got != "") {
							t.Errorf("status %d with Retry-After %q", w.status, got)
						}
						cause := tt.log
						if w.refused {
							cause = "Destroy"
						}
						if !strings.Contains(logs.String(), cause) || strings.Contains(logs.String(), id) {
							t.Errorf("log %q: want the cause (%q), without the session ID", logs.String(), cause)
						}
					}

					// Nothing saved before is lost; the store works again.
					mustHold := func(id, want string) {
						t.Helper()
						if sess, err := st.Load(t.Context(), id); err != nil || string(sess.Data) != want {
							t.Errorf("session saved before the fault: %v (err %v), want %q", sess, err, want)
						}
					}
					mustHold(other, `{"n":1}`)
					if !w.expire {
						mustHold(id, `{"n":1}`)
						if got := body(t, do(t, m.Handler(counter()), id)); got != "2" {
							t.Errorf("once the fault is fixed: counter %q, want 2", got)
						}
					} else if _, err := st.Load(t.Context(), id); err == nil {
						t.Error("the destroyed session is still stored")
					}
				})
			}
		}
	}
}
