package httpsession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestTimeoutAnswerEndsCommitLockWait: a Release whose commit waits for a
// record's lock, held by an Exclusive request of the same user, holds the
// session: an Optimistic save's compare-and-swap, or an Optimistic Renew,
// which locks the old record for the renewal. http.TimeoutHandler's 503
// must still go out without waiting for it (up to the lock timeout, an
// hour here: the answer must come while the lock is still held).
//
// The timeout fires once the Release is seen waiting for the lock
// (timedOutByTest). With a timer it fired, on a loaded machine, before
// the Release reached its wait, which then met an ended request and did
// not wait: such a try passed whatever the package does with a waiting
// Release, also when it fired after the handler's last look at its
// context.
func TestTimeoutAnswerEndsCommitLockWait(t *testing.T) {
	for _, renew := range []bool{false, true} {
		name := "save"
		if renew {
			name = "renew"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil, httpsession.WithLockTimeout(time.Hour))
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			held := make(chan struct{})
			var lk *fsstore.Locked
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
				close(held)
				s.Release() // waits for the record's lock, holding the session
			})
			h, fire := timedOutByTest(inner)
			answered := make(chan *http.Response, 1)
			waits := testenv.ParkedAnew(lockAcquire)
			go func() { answered <- do(t, e.m.Middleware(httpsession.Optimistic)(h), id) }()
			<-held
			defer func() { lk.Unlock() }()
			awaitLockWait(t, waits, answered, "the handler's Release")
			fire()
			wantTimeoutAnswer(t, answered, func() { lk.Unlock() }, "while a record's lock is held: the timeout's 503 waits for the handler's Release, waiting for that lock")
		})
	}
}
