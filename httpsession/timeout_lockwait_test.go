package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestTimeoutAnswerEndsLockWait: with the middleware around
// http.TimeoutHandler, the handler's goroutine may be waiting for the
// session's lock (held by a slow request of the same user) when the
// timeout fires. The 503 must not wait for that wait, which the lock
// timeout bounds, not TimeoutHandler: here the lock is held until the
// answer has arrived, and the lock timeout is far longer than the test.
func TestTimeoutAnswerEndsLockWait(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithLockTimeout(time.Hour))
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive) // a slow request of the same user
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	waiting := make(chan struct{})
	var getErr error
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(waiting)
		var n int
		_, getErr = httpsession.FromContext(r.Context()).Get("n", &n) // waits for the lock
	})
	h := e.m.Handler(http.TimeoutHandler(inner, 10*time.Millisecond, "timeout"))
	answered := make(chan *http.Response, 1)
	go func() { answered <- do(t, h, id) }()
	select {
	case resp := <-answered:
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want the timeout's 503", resp.StatusCode)
		}
	case <-time.After(time.Minute):
		lk.Unlock()
		t.Fatal("no answer while the session's lock is held: the timeout's 503 waits for the handler's lock wait")
	}
	<-waiting
	if getErr == nil {
		t.Error("the handler's Get succeeded after the timeout answer")
	}
}
