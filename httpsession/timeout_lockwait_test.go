package httpsession_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
)

// waitHang is how long a test waits past a timeout or deadline that must
// end a wait (TimeoutHandler's 503, a lock wait's context) before it calls
// the wait a hang. It measures nothing: the end is due at once, and a wait
// that does not end lasts as long as the lock is held. It bounds how long
// the broken case takes to fail.
const waitHang = 20 * time.Second

// lockAcquire is the function a goroutine waiting for a lock held in this
// process is parked in (testenv.Parked).
const lockAcquire = "github.com/sessfs/sessfs/lock.(*Table).acquire"

// TestTimeoutAnswerEndsLockWait: with the middleware around
// http.TimeoutHandler, the handler's goroutine may be waiting for the
// session's lock (held by a slow request of the same user) when the
// timeout fires. The 503 must not wait for that wait, which the lock
// timeout bounds, not TimeoutHandler: here the lock is held until the
// answer has arrived, and the lock timeout is far longer than the test.
//
// The timeout fires once the handler's Get is seen waiting for the lock
// (timedOutByTest). With a timer it fired, on a loaded machine, before
// the Get began (the Get then read without the lock, and showed nothing)
// or after it began and before it reached the wait, which the answer
// then kept it from entering: that try passed whatever the package does
// with a wait under way.
func TestTimeoutAnswerEndsLockWait(t *testing.T) {
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
	h, fire := timedOutByTest(inner)
	answered := make(chan *http.Response, 1)
	waits := testenv.ParkedAnew(lockAcquire)
	go func() { answered <- do(t, e.m.Handler(h), id) }()
	awaitLockWait(t, waits, answered, "the handler's Get")
	fire()
	wantTimeoutAnswer(t, answered, func() { lk.Unlock() }, "while the session's lock is held: the timeout's 503 waits for the handler's lock wait")
	<-waiting
	if getErr == nil {
		t.Errorf("the handler's Get, waiting for the lock held throughout, succeeded (found %v) after the timeout answer", found)
	}
}

// timedOutByTest is http.TimeoutHandler around h with a timeout of its
// own longer than any test, and a request context whose deadline passes
// when the test calls fire: TimeoutHandler then answers its 503, as its
// own timeout firing at that instant would. Only what TimeoutHandler
// serves sees that deadline: a middleware around the handler it returns
// has its request's context, as under a real timeout.
func timedOutByTest(h http.Handler) (http.Handler, func()) {
	d := testenv.NewDeadline(context.Background())
	th := http.TimeoutHandler(h, time.Hour, "timeout")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.ServeHTTP(w, r.WithContext(d.WithValues(r.Context())))
	}), d.Expire
}

// awaitLockWait waits until waits (testenv.ParkedAnew(lockAcquire), from
// before the request) reports a wait for a lock held in this process
// (what names the waiter), failing the test if the request's answer comes
// first or none waits within a minute.
func awaitLockWait(t *testing.T, waits func() bool, answered <-chan *http.Response, what string) {
	t.Helper()
	for giveUp := time.Now().Add(time.Minute); !waits(); {
		select {
		case resp := <-answered:
			t.Fatalf("answered %d before %s waited for the lock", resp.StatusCode, what)
		default:
		}
		if time.Now().After(giveUp) {
			t.Fatalf("%s is not waiting for the lock a minute after the request began", what)
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}
}

// wantTimeoutAnswer waits for the answer to a request under
// http.TimeoutHandler whose timeout has fired, and wants the timeout's
// 503. One still missing waitHang after is a hang: release frees what the
// handler waits for, the answer is awaited, and the test fails, saying
// why the answer waited (hang).
func wantTimeoutAnswer(t *testing.T, answered <-chan *http.Response, release func(), hang string) {
	t.Helper()
	select {
	case resp := <-answered:
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want the timeout's 503", resp.StatusCode)
		}
	case <-time.After(waitHang):
		release()
		<-answered
		t.Fatalf("no answer %v after the timeout fired %s", waitHang, hang)
	}
}
