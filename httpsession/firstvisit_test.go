package httpsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// A first visit saves its new session under an ID drawn a moment ago,
// which no other request or host can know: it takes no lock, and so does
// not wait for a host holding the lock stripe the ID falls on for another
// session (a slow request, a sweep, a rekey). It waited, by
// CompareAndSwap, until that host let the stripe go or the commit's lock
// timeout ended the wait with a 503. Here a second store on the same
// directory, as another host, holds the store's only stripe through the
// requests.
//
// The lock timeout is an hour, and the test fails as soon as the request
// is seen waiting for a lock. A short lock timeout, which would end such a
// wait with a 503, bounds the whole commit too (the request's answer then
// depended on the machine's speed: a save begun a millisecond late failed
// with context.DeadlineExceeded, and the test with it).
// lockPoll is where a goroutine waits between its tries of a lock that
// another process (here another store) holds.
const lockPoll = "github.com/sessfs/sessfs/lock.sleepCtx"

func TestFirstVisitTakesNoLock(t *testing.T) {
	dir := t.TempDir()
	opts := []fsstore.Option{fsstore.WithLockStripes(1), fsstore.WithDurability(fsstore.DurabilityNone)}
	st, err := fsstore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	other, err := fsstore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	held, err := other.Lock(t.Context(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	unlock := func() {
		if held != nil {
			held.Unlock()
			held = nil
		}
	}
	defer unlock()
	m := httpsession.New(st, httpsession.WithLockTimeout(time.Hour))
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		h := m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.FromContext(r.Context()).Put("n", 1); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}))
		rec := httptest.NewRecorder()
		waits, polls := testenv.ParkedAnew(lockAcquire), testenv.ParkedAnew(lockPoll)
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://example.com/", nil))
		}()
		answered := func() bool {
			select {
			case <-done:
				return true
			default:
				return false
			}
		}
		for giveUp := time.Now().Add(proctest.Deadline); !answered(); time.Sleep(time.Millisecond) { // polling for an event, bounded above
			if waits() || polls() || time.Now().After(giveUp) {
				// The stripe let go, the wait ends and the request
				// returns.
				unlock()
				<-done
				t.Fatalf("%v: a first visit waits for the lock stripe another store holds", mode)
			}
		}
		resp := rec.Result()
		c := sessionCookie(resp)
		if resp.StatusCode != http.StatusOK || c == nil {
			t.Fatalf("%v: first visit with the stripe held by another store: status %d, cookie %v: %s", mode, resp.StatusCode, c, rec.Body)
		}
		got, err := other.Load(t.Context(), c.Value)
		if err != nil || len(got.Data) == 0 {
			t.Errorf("%v: the first visit's session, read by the other store: %v, %v", mode, got, err)
		}
	}
}
