package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestTimeoutAnswerEndsRenewLockWait: a Release whose commit waits for a
// lock (Optimistic Renew locks the old record for the renewal) holds the
// session; http.TimeoutHandler's 503 must still go out without waiting
// for it (up to the lock timeout).
func TestTimeoutAnswerEndsRenewLockWait(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithLockTimeout(time.Hour))
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	held := make(chan struct{})
	var lk *fsstore.Locked
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.GetInt("n") // loaded without a lock (Optimistic)
		var err error
		lk, err = e.st.Lock(t.Context(), id, fsstore.Exclusive) // a slow request of the same user in Exclusive mode
		if err != nil {
			t.Error(err)
		}
		close(held)
		s.Put("user", "ada")
		s.Renew()
		s.Release() // waits for the old record's lock, holding s.mu
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
		t.Fatal("no 503 after a minute (TimeoutHandler: 50ms): the timeout answer waits for the handler's Release, blocked on a lock under s.mu (up to the lock timeout)")
	}
}
