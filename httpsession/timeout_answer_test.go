package httpsession_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// slowTwoStep changes the session in two steps, with the timeout firing
// in between (a debit before a credit, say), then tries to answer. It
// sends what the first step returned on step1, and makes its second step
// only once answered is closed: a handler that returned before
// TimeoutHandler saw its timeout could have its own answer chosen.
func slowTwoStep(returned chan<- struct{}, step1 chan<- error, answered <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		s := httpsession.FromContext(r.Context())
		err := s.Put("step1", true)
		step1 <- err
		if err != nil {
			return
		}
		<-r.Context().Done() // the timeout fires
		<-answered
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
				// The first step locks and loads the session under the
				// timeout's deadline; on a loaded machine that can take
				// longer than a short timeout, which then fires before
				// the step this test is about. Such a try proves nothing
				// either way: try again with a longer timeout.
				for _, timeout := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second} {
					if timeoutCommitsNothing(t, tc.outer, existing, timeout) {
						return
					}
					t.Logf("the %v timeout fired before the handler's first step: trying a longer one", timeout)
				}
				t.Fatal("every timeout fired before the handler's first step")
			})
		}
	}
}

// timeoutCommitsNothing runs one request of TestTimeoutAnswerCommitsNothing
// under TimeoutHandler with timeout, and reports false, checking nothing,
// if the timeout fired before the handler's first step was made.
func timeoutCommitsNothing(t *testing.T, outer, existing bool, timeout time.Duration) bool {
	t.Helper()
	e := newEnv(t, nil)
	id := ""
	if existing {
		id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	}
	returned, served, answered := make(chan struct{}), make(chan struct{}), make(chan struct{})
	step1 := make(chan error, 1)
	var h http.Handler
	if outer {
		h = e.m.Handler(http.TimeoutHandler(slowTwoStep(returned, step1, answered), timeout, "timeout"))
		close(served)
	} else {
		mw := e.m.Handler(slowTwoStep(returned, step1, answered))
		h = http.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(served) // after the middleware's end-of-request commit
			mw.ServeHTTP(w, r)
		}), timeout, "timeout")
	}
	resp := do(t, h, id)
	close(answered)
	<-returned
	<-served
	if err := <-step1; errors.Is(err, context.DeadlineExceeded) || errors.Is(err, httpsession.ErrReleased) {
		// The timeout came before the step: during its lock wait, or
		// before the handler ran at all, TimeoutHandler having answered.
		return false
	} else if err != nil {
		t.Fatalf("first step: %v", err)
	}
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
	return true
}
