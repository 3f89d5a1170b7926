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
			e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Name: tc.name}), httpsession.WithLockTimeout(50*time.Millisecond))
			victim := seedSessions(t, e.st, 1)[0]
			attacker := seedSessions(t, e.st, 1)[0]
			held, err := e.st.Lock(t.Context(), attacker, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()
			req := httptest.NewRequest("GET", "https://app.example.com/account/", nil)
			// What the victim's browser sends: the tossed cookie (a name
			// a sibling subdomain can set) first, its longer path's.
			req.Header.Set("Cookie", "session="+attacker+"; "+tc.name+"="+victim)
			rec := httptest.NewRecorder()
			e.m.Handler(counter()).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("cookie name %s: status %d, want %d; body %q", tc.name, rec.Code, tc.want, rec.Body.String())
			}
			if tc.want == http.StatusOK && rec.Body.String() != "2" {
				t.Errorf("cookie name %s: body %q, want the victim's counter, 2", tc.name, rec.Body.String())
			}
		})
	}
}
