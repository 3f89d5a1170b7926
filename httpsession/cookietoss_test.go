package httpsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
)

// Cookie tossing: a sibling subdomain (evil.example.com) sets a cookie of
// the session's name with Domain=example.com and a longer Path, naming a
// session the attacker keeps locked with requests of their own. The
// victim's browser sends it first, the request waits for that session's
// lock and is answered 503 once the lock timeout is spent: the victim's
// own cookie, after it, is never tried. A __Host- name is the defence
// (docs/security.md): browsers refuse a __Host- cookie with a Domain, so
// a sibling cannot set one the victim's host receives, and the Manager
// reads only the name it was given, not a tossed "session".
//
// The request's lock wait, where there is one, is ended by its deadline
// once it is seen under way (testenv.ParkedAnew, testenv.Deadline), with a
// lock timeout far longer than the test. A short lock timeout, retried
// longer when the victim's request was answered 503, made a try on a
// loaded machine show nothing of which cookie was read.
func TestTossedCookieNamingALockedSession(t *testing.T) {
	for _, tc := range []struct {
		name  string
		waits bool // for the attacker's lock, and is answered 503 once its deadline passes
	}{
		{name: "session", waits: true},
		{name: "__Host-session", waits: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, waited := tossedCookieRequest(t, tc.name)
			switch {
			case waited != tc.waits:
				t.Errorf("cookie name %s: waited for the attacker's lock: %v, want %v (status %d, body %q)", tc.name, waited, tc.waits, code, body)
			case tc.waits && code != http.StatusServiceUnavailable:
				t.Errorf("cookie name %s: status %d after the lock wait's deadline, want 503; body %q", tc.name, code, body)
			case !tc.waits && (code != http.StatusOK || body != "2"):
				t.Errorf("cookie name %s: status %d, body %q, want 200 and the victim's counter, 2", tc.name, code, body)
			}
		})
	}
}

// tossedCookieRequest runs the request of TestTossedCookieNamingALockedSession
// through a Manager reading the cookie name, and returns its status and
// body, and whether it waited for a lock: that wait is ended by the
// request's deadline once seen, with a lock timeout of an hour.
func tossedCookieRequest(t *testing.T, name string) (code int, body string, waited bool) {
	t.Helper()
	e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Name: name}), httpsession.WithLockTimeout(time.Hour))
	victim := seedSessions(t, e.st, 1)[0]
	attacker := seedSessions(t, e.st, 1)[0]
	held, err := e.st.Lock(t.Context(), attacker, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	deadline := testenv.NewDeadline(context.Background())
	defer deadline.Expire()
	req := httptest.NewRequestWithContext(deadline, "GET", "https://app.example.com/account/", nil)
	// What the victim's browser sends: the tossed cookie (a name a
	// sibling subdomain can set) first, its longer path's.
	req.Header.Set("Cookie", "session="+attacker+"; "+name+"="+victim)
	rec := httptest.NewRecorder()
	waits := testenv.ParkedAnew(lockAcquire)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.m.Handler(counter()).ServeHTTP(rec, req)
	}()
	for giveUp := time.Now().Add(time.Minute); ; {
		select {
		case <-done:
			return rec.Code, rec.Body.String(), waited
		default:
		}
		if !waited && waits() {
			waited = true
			deadline.Expire()
		}
		if time.Now().After(giveUp) {
			deadline.Expire()
			<-done
			t.Fatalf("cookie name %s: neither answered nor waiting for a lock a minute after the request began", name)
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}
}
