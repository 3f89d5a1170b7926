package httpsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestRefusedDestroyKeepsLoadFailure: a Destroy refused (on a ReadOnly
// route, or after Release) in a request whose session could not be
// loaded answered 500 for the refusal, and its log line dropped the
// load's failure: a store that stopped answering (a closed store here,
// an NFS outage in production) read as a bug in the handler, with no
// Retry-After and nothing in the log about the outage. The load's
// failure decides the status (503 here), and the log line names both.
// Without a log out in it, the same request after Release answered 200,
// as if the session had been read.
func TestRefusedDestroyKeepsLoadFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    httpsession.Mode
		destroy bool
		// run uses the session; close closes the store where the load
		// must fail.
		run func(s *httpsession.Session, close func())
		log []string
	}{
		{"read-only route, session read", httpsession.ReadOnly, true, func(s *httpsession.Session, close func()) {
			close()
			s.GetInt("n")
		}, []string{"store closed", "Destroy"}},
		{"read-only route, session unused", httpsession.ReadOnly, true, func(s *httpsession.Session, close func()) {
			close()
		}, []string{"store closed", "Destroy"}},
		{"read after Release", httpsession.Exclusive, true, func(s *httpsession.Session, close func()) {
			_ = s.Release()
			close()
			s.GetInt("n")
		}, []string{"store closed", "Destroy"}},
		{"read after Release, no Destroy", httpsession.Exclusive, false, func(s *httpsession.Session, close func()) {
			_ = s.Release()
			close()
			s.GetInt("n")
		}, []string{"store closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := firstCookie(t, e.st)
			e.log.Reset()
			srv := serve(t, e.m.Middleware(tc.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				tc.run(s, func() { e.st.Close() })
				if tc.destroy {
					_ = s.Destroy() // dropped, as log out handlers do
				}
				fmt.Fprint(w, "done")
			})))
			resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
			if b := body(t, resp); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || b == "done" {
				t.Errorf("status %d, Retry-After %q, body %q: want the store's 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), b)
			}
			for _, want := range tc.log {
				if !strings.Contains(e.log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, e.log.String())
				}
			}
		})
	}
}
