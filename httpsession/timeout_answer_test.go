package httpsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// slowTwoStep changes the session in two steps, with the timeout firing
// in between (a debit before a credit, say), then tries to answer.
func slowTwoStep(t *testing.T, returned chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		s := httpsession.FromContext(r.Context())
		if err := s.Put("step1", true); err != nil {
			t.Error(err)
		}
		<-r.Context().Done() // the timeout fires
		s.Put("step2", true)
		fmt.Fprint(w, "done")
	})
}

// TestTimeoutAnswerCommitsNothing: when http.TimeoutHandler answers 503
// for a handler still running, nothing the handler changed is saved, with
// the session middleware around TimeoutHandler (where the 503 goes through
// it) or inside (where the commit finds the request's deadline passed).
func TestTimeoutAnswerCommitsNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		outer bool // the session middleware around TimeoutHandler (as TestReleaseCookieUnderTimeoutHandler has it)
	}{
		{"middleware around TimeoutHandler", true},
		{"middleware inside TimeoutHandler", false},
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
				returned, served := make(chan struct{}), make(chan struct{})
				var h http.Handler
				if tc.outer {
					h = e.m.Handler(http.TimeoutHandler(slowTwoStep(t, returned), 10*time.Millisecond, "timeout"))
					close(served)
				} else {
					mw := e.m.Handler(slowTwoStep(t, returned))
					h = http.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						defer close(served) // after the middleware's end-of-request commit
						mw.ServeHTTP(w, r)
					}), 10*time.Millisecond, "timeout")
				}
				resp := do(t, h, id)
				<-returned
				<-served
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("status %d, want the timeout's 503", resp.StatusCode)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("the timeout answer carries a session cookie")
				}
				if existing {
					sess, err := e.st.Load(t.Context(), id)
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(string(sess.Data), "step") {
						t.Errorf("client answered 503 (timeout), yet the handler's partial change was saved: %s", sess.Data)
					}
				}
			})
		}
	}
}
