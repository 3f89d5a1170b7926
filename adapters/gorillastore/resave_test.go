package gorillastore_test

import (
	"net/http/httptest"
	"testing"

	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestSaveAfterLogout: a logout (Options.MaxAge < 0) ends the session for
// good, even when the same session is saved again in that request (a
// deferred sessions.Save, a flash message set after the logout with
// MaxAge restored, a "switch user" that logs in anew). The later Save
// must not bring back the deleted ID: whoever held the old cookie (a
// planted one, a copy on a shared computer) would be logged in again,
// and a login saved so would keep the ID from before it, the fixation
// the logout was to prevent. A later logout Save has nothing to delete.
func TestSaveAfterLogout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxAge int // of the Save after the logout's
	}{
		{"saved again as it is", -1},
		{"kept again", 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, st := open(t, t.TempDir(), fakeclock.New())
			w := httptest.NewRecorder()
			r := request(nil)
			s, err := store.Get(r, "app")
			if err != nil {
				t.Fatal(err)
			}
			s.Values["user"] = "alice"
			if err := s.Save(r, w); err != nil {
				t.Fatal(err)
			}
			login, oldID := cookieOf(t, w, "app"), s.ID

			r, w = request(login), httptest.NewRecorder()
			s, err = store.Get(r, "app")
			if err != nil || s.IsNew {
				t.Fatalf("after the login: new %v, err %v", s.IsNew, err)
			}
			s.Options.MaxAge = -1
			if err := s.Save(r, w); err != nil {
				t.Fatalf("logout: %v", err)
			}
			if s.ID != "" || !s.IsNew {
				t.Errorf("after the logout: ID kept %v, IsNew %v; want no ID, a new session", s.ID == oldID, s.IsNew)
			}
			s.Options.MaxAge = tc.maxAge
			s.Values["user"] = "bob"
			if err := s.Save(r, w); err != nil {
				t.Fatalf("second save: %v", err)
			}
			if s.ID == oldID {
				t.Error("the second save reused the logged-out session's ID")
			}
			old, err := store.New(request(login), "app")
			if err != nil || !old.IsNew {
				t.Errorf("the cookie from before the logout: new %v (values %v), err %v; want no session", old.IsNew, old.Values, err)
			}
			want := 0
			if tc.maxAge > 0 {
				want = 1
				// The browser keeps the last of the response's cookies:
				// the new session's.
				cs := w.Result().Cookies()
				fresh, err := store.New(request(cs[len(cs)-1]), "app")
				if err != nil || fresh.IsNew || fresh.Values["user"] != "bob" {
					t.Errorf("the response's last cookie: new %v, values %v, err %v; want bob's session", fresh.IsNew, fresh.Values, err)
				}
			}
			if n := len(webtest.RecordFiles(t, st.Dir())); n != want {
				t.Errorf("%d records, want %d", n, want)
			}
		})
	}
}
