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

// TestServerErrorAnswerSavesNothing: a 5xx answer says the request was not
// done, so what the handler changed on its way is not saved (as Django's
// session middleware does): neither for an error the handler writes nor
// for the 500 a recovery middleware inside the session's writes after a
// panic. A Destroy (a log out) is still carried out, and its cookie
// cleared.
func TestServerErrorAnswerSavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.Handler
	}{
		{"error answer", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpsession.FromContext(r.Context()).Put("n", 99)
			http.Error(w, "upstream failed", http.StatusBadGateway)
		})},
		{"panic under a recovery middleware", recovering(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpsession.FromContext(r.Context()).Put("n", 99)
			panic("bug")
		}))},
	} {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, mode), func(t *testing.T) {
				e := newEnv(t, nil)
				id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				resp := do(t, e.m.Middleware(mode)(tc.handler), id)
				if resp.StatusCode < 500 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("the error answer carries a session cookie %q", c.Value)
				}
				sess, err := e.st.Load(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(sess.Data), "99") {
					t.Errorf("answered %d, yet the change was saved: %s", resp.StatusCode, sess.Data)
				}
				// A new session is not created either.
				resp = do(t, e.m.Middleware(mode)(tc.handler), "")
				if c := sessionCookie(resp); c != nil {
					t.Errorf("a new session's error answer carries a cookie %q", c.Value)
				}
			})
		}
	}
	t.Run("Destroy", func(t *testing.T) {
		e := newEnv(t, nil)
		id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
		resp := do(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.FromContext(r.Context()).Destroy(); err != nil {
				t.Error(err)
			}
			http.Error(w, "the log out page failed to render", http.StatusInternalServerError)
		})), id)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, err := e.st.Load(t.Context(), id); !errors.Is(err, fsstore.ErrNotFound) {
			t.Errorf("after Destroy and a 500, Load = %v; want the session gone", err)
		}
		if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
			t.Errorf("cookie %v: want it cleared", c)
		}
	})
}

// recovering is a recovery middleware, as placed inside the session's: a
// panic becomes a 500.
func recovering(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
