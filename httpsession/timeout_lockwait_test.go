package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// waitHang is how long a test waits past a timeout or deadline that must
// end a wait (TimeoutHandler's 503, a lock wait's context) before it calls
// the wait a hang. It measures nothing: the end is due at once, and a wait
// that does not end lasts as long as the lock is held. It bounds how long
// the broken case takes to fail.
const waitHang = 20 * time.Second

// TestTimeoutAnswerEndsLockWait: with the middleware around
// http.TimeoutHandler, the handler's goroutine may be waiting for the
// session's lock (held by a slow request of the same user) when the
// timeout fires. The 503 must not wait for that wait, which the lock
// timeout bounds, not TimeoutHandler: here the lock is held until the
// answer has arrived, and the lock timeout is far longer than the test.
func TestTimeoutAnswerEndsLockWait(t *testing.T) {
	// The handler's Get must be waiting for the lock when the timeout
	// fires. On a loaded machine a short timeout can fire before the
	// handler's goroutine reaches the Get, which, after the error
	// answer, reads without the lock (nothing more is saved) and
	// succeeds: such a try proves nothing either way, so try again with
	// a longer timeout.
	for _, timeout := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second} {
		if timeoutEndsLockWait(t, timeout) {
			return
		}
		t.Logf("the %v timeout fired before the handler's Get: trying a longer one", timeout)
	}
	t.Fatal("every timeout fired before the handler's Get")
}

// timeoutEndsLockWait runs one request of TestTimeoutAnswerEndsLockWait
// under TimeoutHandler with timeout, and reports false if the handler's
// Get began after the timeout's answer (it read without the lock).
func timeoutEndsLockWait(t *testing.T, timeout time.Duration) bool {
	t.Helper()
	e := newEnv(t, nil, httpsession.WithLockTimeout(time.Hour))
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive) // a slow request of the same user
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	waiting := make(chan struct{})
	var (
		found  bool
		getErr error
	)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(waiting)
		var n int
		found, getErr = httpsession.FromContext(r.Context()).Get("n", &n) // waits for the lock
	})
	h := e.m.Handler(http.TimeoutHandler(inner, timeout, "timeout"))
	answered := make(chan *http.Response, 1)
	go func() { answered <- do(t, h, id) }()
	wantTimeoutAnswer(t, answered, timeout, func() { lk.Unlock() }, "while the session's lock is held: the timeout's 503 waits for the handler's lock wait")
	<-waiting
	if getErr == nil {
		// The lock is held throughout: a Get that waited for it cannot
		// have succeeded. This one read without it, after the answer.
		if !found {
			t.Errorf("the handler's Get, after the timeout answer, did not find the saved value")
		}
		return false
	}
	return true
}

// wantTimeoutAnswer waits for the answer to a request under
// http.TimeoutHandler with timeout, and wants the timeout's 503. One still
// missing waitHang after the timeout is a hang: release frees what the
// handler waits for, the answer is awaited, and the test fails, saying
// why the answer waited (hang).
func wantTimeoutAnswer(t *testing.T, answered <-chan *http.Response, timeout time.Duration, release func(), hang string) {
	t.Helper()
	select {
	case resp := <-answered:
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want the timeout's 503", resp.StatusCode)
		}
	case <-time.After(timeout + waitHang):
		release()
		<-answered
		t.Fatalf("no answer %v after the %v timeout %s", waitHang, timeout, hang)
	}
}
