package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestTimeoutAnswerEndsCASLockWait: as TestTimeoutAnswerEndsRenewLockWait,
// for a plain Optimistic save (Put, Release): its compare-and-swap waits
// for the record's lock, held by an Exclusive request of the same user.
func TestTimeoutAnswerEndsCASLockWait(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithLockTimeout(time.Hour))
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	held := make(chan struct{})
	var lk *fsstore.Locked
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.GetInt("n")
		var err error
		lk, err = e.st.Lock(t.Context(), id, fsstore.Exclusive)
		if err != nil {
			t.Error(err)
		}
		close(held)
		s.Put("user", "ada")
		s.Release() // CompareAndSwap waits for the record's lock, holding s.mu
	})
	h := e.m.Middleware(httpsession.Optimistic)(http.TimeoutHandler(inner, 50*time.Millisecond, "timeout"))
	answered := make(chan *http.Response, 1)
	go func() { answered <- do(t, h, id) }()
	<-held
	defer func() { lk.Unlock() }()
	select {
	case resp := <-answered:
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want the timeout's 503", resp.StatusCode)
		}
	case <-time.After(time.Minute):
		lk.Unlock()
		<-answered
		t.Fatal("no 503 after a minute (TimeoutHandler: 50ms): the timeout answer waits for the handler's compare-and-swap, waiting for the record's lock")
	}
}
