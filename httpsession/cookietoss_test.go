package httpsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
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
func TestTossedCookieNamingALockedSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
	}{
		{name: "session", want: http.StatusServiceUnavailable},
		{name: "__Host-session", want: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The victim's session is free: its request gets the lock at
			// once, but a loaded machine can delay that past a short lock
			// timeout, and the 503 then shows nothing of which cookie was
			// read. Such a try is made again with a longer timeout; a
			// request that waits for the attacker's held lock answers 503
			// at every one.
			waits := []time.Duration{50 * time.Millisecond, time.Second, 10 * time.Second}
			for i, wait := range waits {
				code, body := tossedCookieRequest(t, tc.name, wait)
				if code == http.StatusServiceUnavailable && tc.want == http.StatusOK && i < len(waits)-1 {
					t.Logf("cookie name %s: 503 with a %v lock timeout: trying a longer one", tc.name, wait)
					continue
				}
				if code != tc.want {
					t.Errorf("cookie name %s: status %d, want %d; body %q", tc.name, code, tc.want, body)
				}
				if tc.want == http.StatusOK && body != "2" {
					t.Errorf("cookie name %s: body %q, want the victim's counter, 2", tc.name, body)
				}
				break
			}
		})
	}
}

// tossedCookieRequest runs the request of TestTossedCookieNamingALockedSession
// through a Manager reading the cookie name and waiting wait for a lock,
// and returns its status and body.
func tossedCookieRequest(t *testing.T, name string, wait time.Duration) (int, string) {
	t.Helper()
	e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Name: name}), httpsession.WithLockTimeout(wait))
	victim := seedSessions(t, e.st, 1)[0]
	attacker := seedSessions(t, e.st, 1)[0]
	held, err := e.st.Lock(t.Context(), attacker, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	req := httptest.NewRequest("GET", "https://app.example.com/account/", nil)
	// What the victim's browser sends: the tossed cookie (a name a
	// sibling subdomain can set) first, its longer path's.
	req.Header.Set("Cookie", "session="+attacker+"; "+name+"="+victim)
	rec := httptest.NewRecorder()
	e.m.Handler(counter()).ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}
