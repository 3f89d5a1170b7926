package httpsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// A WriteHeader with a code net/http refuses (a proxy passing on the zero
// status of a failed upstream call, say) panics there, as it does
// without the middleware, and leaves the session as any panicking handler
// does: as it was. The middleware had committed first: the change was
// saved, and a new or renewed session's cookie never went out (after
// Renew, the user was logged out).
func TestInvalidStatusCommitsNothing(t *testing.T) {
	for _, code := range []int{0, 99, 1000} {
		for _, outside := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/recovery outside %v", code, outside), func(t *testing.T) {
				e := newEnv(t, nil)
				id := seedSession(t, e.m, map[string]any{"n": 1})
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					if err := s.Put("n", 2); err != nil {
						t.Error(err)
					}
					if err := s.Renew(); err != nil {
						t.Error(err)
					}
					w.WriteHeader(code)
				})
				if outside {
					h = recovering(e.m.Handler(h))
				} else {
					h = e.m.Handler(recovering(h))
				}
				resp := do(t, h, id)
				if resp.StatusCode != http.StatusInternalServerError {
					t.Errorf("status %d, want the recovery's 500", resp.StatusCode)
				}
				sess, err := e.st.Load(t.Context(), id)
				if err != nil {
					t.Fatalf("the session, renewed by a handler that failed, is gone: %v", err)
				}
				if !strings.Contains(string(sess.Data), `"n":1`) {
					t.Errorf("the session holds %q; want it as it was", sess.Data)
				}
			})
		}
	}
}

// The error a session reports after a WriteHeader with a code net/http
// refuses names the invalid code, not a server error: 1000 and above are
// as invalid as 0 (net/http panics for any code outside 100..999).
func TestInvalidStatusError(t *testing.T) {
	for _, code := range []int{0, 99, 1000, 1 << 20} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			e := newEnv(t, nil)
			var putErr error
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				func() {
					defer func() { recover() }() // net/http's panic
					w.WriteHeader(code)
				}()
				putErr = httpsession.FromContext(r.Context()).Put("n", 1)
			}))
			do(t, h, "")
			if putErr == nil || !strings.Contains(putErr.Error(), "invalid status code") || strings.Contains(putErr.Error(), "5xx") {
				t.Errorf("Put after WriteHeader(%d): %v; want the invalid status named", code, putErr)
			}
		})
	}
}
