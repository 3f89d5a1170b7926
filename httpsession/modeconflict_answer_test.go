package httpsession_test

// The ErrModeConflict answer (and the inner middleware's "unknown mode"
// answer) is written through the outer middleware's writer, whose first
// write commits: the outer handler's changes must not be saved with the
// 500 that says they cannot be carried over, nor a cookie sent with it.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

func TestModeConflictAnswerCommitsNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		inner httpsession.Mode
	}{
		{"read-only route", httpsession.ReadOnly},
		{"unknown mode route", httpsession.Mode(42)},
	} {
		for _, existing := range []bool{false, true} {
			name := tc.name + ", new session"
			if existing {
				name = tc.name + ", existing session"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, nil)
				id := ""
				if existing {
					id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				}
				route := e.m.Middleware(tc.inner)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					t.Error("the route ran")
				}))
				outer := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// An outer middleware that changes the session (a
					// "last seen" stamp, say) before routing.
					httpsession.FromContext(r.Context()).Put("outer", "changed")
					route.ServeHTTP(w, r)
				}))
				resp := do(t, outer, id)
				if resp.StatusCode != http.StatusInternalServerError {
					t.Fatalf("status %d, want 500", resp.StatusCode)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("the 500 carries a session cookie: %q", resp.Header.Values("Set-Cookie"))
				}
				if existing {
					sess, err := e.st.Load(t.Context(), id)
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(string(sess.Data), "outer") {
						t.Errorf("the request failed with 500, yet the outer change was saved: %s", sess.Data)
					}
				}
			})
		}
	}
}
