package httpsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

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
//
// The timeout fires once the handler's first step is made
// (timedOutByTest). With a timer it fired, on a loaded machine, during
// the step's lock wait or before the handler ran at all: such a try
// showed nothing, and was retried with a longer timer.
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
				timeoutCommitsNothing(t, tc.outer, existing)
			})
		}
	}
}

// timeoutCommitsNothing runs one request of TestTimeoutAnswerCommitsNothing
// under TimeoutHandler, whose timeout fires once the handler's first step
// is made.
func timeoutCommitsNothing(t *testing.T, outer, existing bool) {
	e := newEnv(t, nil)
	id := ""
	if existing {
		id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	}
	returned, served, answered := make(chan struct{}), make(chan struct{}), make(chan struct{})
	step1 := make(chan error, 1)
	var (
		h    http.Handler
		fire func()
	)
	if outer {
		var th http.Handler
		th, fire = timedOutByTest(slowTwoStep(returned, step1, answered))
		h = e.m.Handler(th)
		close(served)
	} else {
		mw := e.m.Handler(slowTwoStep(returned, step1, answered))
		h, fire = timedOutByTest(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(served) // after the middleware's end-of-request commit
			mw.ServeHTTP(w, r)
		}))
	}
	responses := make(chan *http.Response, 1)
	go func() { responses <- do(t, h, id) }()
	if err := <-step1; err != nil {
		fire() // lets the handler, and the request, end
		<-responses
		close(answered)
		<-returned
		<-served
		t.Fatalf("first step, before the timeout: %v", err)
	}
	fire()
	resp := <-responses
	close(answered)
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
}
