package ginstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/fsstore"
)

// TestBadCookieBesideTheUsers: through gin-contrib/sessions, a malformed
// cookie of the session's name is a new visitor alone, and sent before
// the user's own (browsers send the longer path's first) it does not
// replace the user's session.
func TestBadCookieBesideTheUsers(t *testing.T) {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := counterApp(ginstore.NewStore(st, key), nil)
	serve := func(cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/inc", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	var user string
	for _, c := range serve("").Result().Cookies() {
		if c.Name == "app" {
			user = c.Value
		}
	}
	if user == "" {
		t.Fatal("no session cookie")
	}
	for _, bad := range []string{"../../etc/passwd", "", "AAAAAAAAAAAAAAAAAAAA"} {
		if w := serve("app=" + bad); w.Code != http.StatusOK || w.Body.String() != "1" {
			t.Errorf("cookie %q alone: status %d, body %q; want a new session", bad, w.Code, w.Body)
		}
	}
	if w := serve("app=../../etc/passwd; app=" + user); w.Code != http.StatusOK || w.Body.String() != "2" {
		t.Errorf("a bad cookie before the user's: status %d, body %q; want the user's session, 2", w.Code, w.Body)
	}
}
