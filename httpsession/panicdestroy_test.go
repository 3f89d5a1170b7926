package httpsession_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestPanicAfterDestroyLogsOut: a handler that panics after Destroy (a log
// out page that fails to render) saves nothing it changed, but the log out
// is carried out, as for any error answer: that a recovery middleware
// inside the session's turned the panic into a 500 carried it out, one
// outside it (the usual place: the outermost) or net/http's own recovery
// left the user logged in, who saw an error and may have walked away from
// a shared computer.
func TestPanicAfterDestroyLogsOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.Handler) http.Handler // around the session's middleware
		over func(*testing.T, http.Handler, string)
	}{
		{"recovery outside", recovering, func(t *testing.T, h http.Handler, id string) { do(t, h, id) }},
		{"net/http's recovery", func(h http.Handler) http.Handler { return h }, func(t *testing.T, h http.Handler, id string) {
			srv := serve(t, h)
			req, err := http.NewRequest("GET", srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "session", Value: id})
			if resp, err := client(t, srv).Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("status %d; want the connection aborted", resp.StatusCode)
			}
		}},
	} {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, mode), func(t *testing.T) {
				e := newEnv(t, nil)
				id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				tc.over(t, tc.wrap(e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					if err := s.Destroy(); err != nil {
						t.Error(err)
					}
					s.Put("n", 99) // a new session's: not saved
					panic(http.ErrAbortHandler)
				}))), id)
				if _, err := e.st.Load(t.Context(), id); !errors.Is(err, fsstore.ErrNotFound) {
					t.Errorf("after Destroy and a panic, Load = %v; want the session gone", err)
				}
				if files := webtest.RecordFiles(t, e.st.Dir()); len(files) != 0 {
					t.Errorf("%d records left; want none (the new session's value is not saved)", len(files))
				}
			})
		}
	}
}
