package httpsession_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestLoadPanicRecoveredInHandler: the store's Observer, called on the
// request's goroutine, panics in the middle of the session's load, and
// the handler recovers and goes on. The session was marked loaded before
// its load ran: it then looked new (no values, Get finding nothing, Put
// accepted) while the lock of the cookie's ID was held, and the handler's
// Put was saved as a fresh session under a new ID, the user's own
// session left behind (logged out). A load that did not return leaves
// the session unusable for the request, as a failed load does: Get and
// Put fail, nothing is saved, the cookie stays.
func TestLoadPanicRecoveredInHandler(t *testing.T) {
	obs := &httpsession.PanicsAtLoad{}
	e := newEnv(t, []fsstore.Option{fsstore.WithObserver(obs)})
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	var getErr, putErr error
	var found bool
	h := e.m.Middleware(httpsession.Exclusive)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		obs.Arm()
		func() {
			defer func() { recover() }()
			s.Get("n", new(int))
		}()
		var n int
		found, getErr = s.Get("n", &n)
		putErr = s.Put("n", 100)
	}))
	resp := do(t, h, id)
	if getErr == nil || putErr == nil {
		t.Errorf("after the load panicked: Get found=%v, %v; Put %v; want both to fail, the session not loaded", found, getErr, putErr)
	}
	if c := sessionCookie(resp); c != nil {
		t.Errorf("cookie %q set (status %d); want the user's kept", c.String(), resp.StatusCode)
	}
	sess, err := e.st.Load(context.Background(), id)
	if err != nil || !strings.Contains(string(sess.Data), `"n":1`) {
		t.Fatalf("the user's session: %v, %v; want it as saved", sess, err)
	}
	l, err := e.st.TryLock(id, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("the session's lock after the request: %v; want it free", err)
	}
	l.Unlock()
}
