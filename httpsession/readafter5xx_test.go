package httpsession_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// An error page that reads the session after its 5xx header went out (a
// layout showing the logged-in user, rendered lazily; a recovery
// middleware's page) reads it in every mode: nothing will be saved, so in
// Exclusive mode it is read without the lock, not refused.
func TestReadAfterServerErrorHeader(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			id := mustCookie(t, do(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				httpsession.FromContext(r.Context()).Put("user", "ada")
			})), "")).Value
			var user string
			var getErr error
			do(t, e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				_, getErr = httpsession.FromContext(r.Context()).Get("user", &user)
				fmt.Fprintf(w, "sorry %s", user)
			})), id)
			if user != "ada" {
				t.Errorf("the 500 page read user %q (Get: %v), want ada", user, getErr)
			}
		})
	}
}
