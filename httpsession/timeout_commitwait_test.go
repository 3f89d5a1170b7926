package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestTimeoutAnswerEndsCommitLockWait: a Release whose commit waits for a
// record's lock, held by an Exclusive request of the same user, holds the
// session: an Optimistic save's compare-and-swap, or an Optimistic Renew,
// which locks the old record for the renewal. http.TimeoutHandler's 503
// must still go out without waiting for it (up to the lock timeout, an
// hour here: the answer must come while the lock is still held).
func TestTimeoutAnswerEndsCommitLockWait(t *testing.T) {
	for _, renew := range []bool{false, true} {
		name := "save"
		if renew {
			name = "renew"
		}
		t.Run(name, func(t *testing.T) {
			// The handler's Release must be waiting for the lock when the
			// timeout fires. On a loaded machine a short timeout can fire
			// before the handler reaches it: the Release then meets an
			// ended request and does not wait, and the 503 goes out
			// whatever the package does with a waiting one. Such a try
			// proves nothing either way: try again with a longer timeout.
			for _, timeout := range []time.Duration{50 * time.Millisecond, 500 * time.Millisecond, 5 * time.Second} {
				if timeoutEndsCommitLockWait(t, renew, timeout) {
					return
				}
				t.Logf("the %v timeout fired before the handler's Release: trying a longer one", timeout)
			}
			t.Fatal("every timeout fired before the handler's Release")
		})
	}
}

// timeoutEndsCommitLockWait runs one request of
// TestTimeoutAnswerEndsCommitLockWait under TimeoutHandler with timeout,
// and reports false if the timeout fired before the handler's Release.
func timeoutEndsCommitLockWait(t *testing.T, renew bool, timeout time.Duration) bool {
	t.Helper()
	e := newEnv(t, nil, httpsession.WithLockTimeout(time.Hour))
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	held := make(chan struct{})
	var (
		lk    *fsstore.Locked
		early bool // the timeout had fired when the Release began
	)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.GetInt("n") // loaded without a lock (Optimistic)
		var err error
		lk, err = e.st.Lock(t.Context(), id, fsstore.Exclusive) // a slow request of the same user
		if err != nil {
			t.Error(err)
		}
		s.Put("user", "ada")
		if renew {
			s.Renew()
		}
		early = r.Context().Err() != nil
		close(held)
		s.Release() // waits for the record's lock, holding the session
	})
	h := e.m.Middleware(httpsession.Optimistic)(http.TimeoutHandler(inner, timeout, "timeout"))
	answered := make(chan *http.Response, 1)
	go func() { answered <- do(t, h, id) }()
	<-held
	defer func() { lk.Unlock() }()
	wantTimeoutAnswer(t, answered, timeout, func() { lk.Unlock() }, "while a record's lock is held: the timeout's 503 waits for the handler's Release, waiting for that lock")
	return !early
}
