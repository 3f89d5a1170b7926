package httpsession_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestHijackAfterReleaseKeepsCookie: a handler that logs the user in (or
// creates the session) and calls Release before upgrading the connection,
// as the package advises for a long handler, has the session's new cookie
// in the response's header, which the hijacker's own response never
// sends. Hijack must refuse, as it does for such a session without
// Release, and the error answer carry the cookie: the hijack went ahead,
// and the user was logged out (the renewed session's old ID names no
// session any more) or the new session was lost.
func TestHijackAfterReleaseKeepsCookie(t *testing.T) {
	for _, tc := range []struct {
		name  string
		renew bool // else a new session
	}{{"renewed", true}, {"new", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := ""
			if tc.renew {
				id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			}
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				s.Put("user", "ada")
				if tc.renew {
					if err := s.Renew(); err != nil {
						t.Error(err)
					}
				}
				if err := s.Release(); err != nil {
					t.Errorf("Release: %v", err)
				}
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Logf("Hijack: %v", err) // refused: the error answer goes out
					return
				}
				defer conn.Close()
				brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				brw.Flush()
			}))
			srv := serve(t, h)
			resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
			body(t, resp)
			c := sessionCookie(resp)
			if c == nil {
				t.Fatalf("status %d: the response carries no session cookie; the session Release saved is out of the client's reach", resp.StatusCode)
			}
			sess, err := e.st.Load(t.Context(), c.Value)
			if err != nil {
				t.Fatalf("the cookie sent names no session: %v", err)
			}
			if want := `"user":"ada"`; !strings.Contains(string(sess.Data), want) {
				t.Errorf("the session the cookie names holds %s; want %s", sess.Data, want)
			}
		})
	}
}
