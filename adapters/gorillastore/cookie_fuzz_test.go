package gorillastore_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
)

// FuzzNew feeds New any cookie value, and any stored values under a
// session whose cookie is genuine, and holds it to what an application
// relies on: New never panics and always returns a session; a session is
// loaded only under the ID a genuine cookie names, with the values saved
// under that ID (a cookie or a record made without the keys loads
// nothing); an error is a securecookie.Error, as gorilla's stores return
// it, or, for values that fail authentication, an error with a new
// session. In the cookie value "@" stands for the stored session's genuine
// cookie, which the fuzzer cannot make itself.
func FuzzNew(f *testing.F) {
	st, err := fsstore.Open(f.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	s := gorillastore.New(st, []byte("fuzz-hash-key-of-32-bytes-000000"))

	// save stores a new session with Values["role"] = role and returns its
	// ID, cookie value and stored payload.
	save := func(role string) (id, cookie string, data []byte) {
		req := httptest.NewRequest("GET", "https://example.com/", nil)
		sess, err := s.New(req, "sid")
		if err != nil {
			f.Fatal(err)
		}
		sess.Values["role"] = role
		w := httptest.NewRecorder()
		if err := s.Save(req, w, sess); err != nil {
			f.Fatal(err)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == "sid" {
				cookie = c.Value
			}
		}
		rec, err := st.Load(f.Context(), sess.ID)
		if err != nil || cookie == "" {
			f.Fatalf("saved session: cookie %q, %v", cookie, err)
		}
		return sess.ID, cookie, rec.Data
	}
	adminID, adminCookie, _ := save("admin")
	userID, userCookie, userData := save("user")

	f.Add("@", userData)
	f.Add("", []byte(""))
	f.Add("x", []byte("x"))
	f.Add("@@", userData[:len(userData)/2])
	f.Add(adminCookie[:len(adminCookie)-1]+"A", []byte(strings.Replace(string(userData), "A", "B", 1)))
	f.Add("MTcwMDAwMDAwMHxhYmN8ZGVm", []byte("MTcwMDAwMDAwMHxhYmN8ZGVm"))
	f.Add(`"@"`, []byte("||||"))

	f.Fuzz(func(t *testing.T, value string, stored []byte) {
		value = strings.ReplaceAll(value, "@", adminCookie)
		req := httptest.NewRequest("GET", "https://example.com/", nil)
		req.Header.Set("Cookie", "sid="+value)
		genuine := false
		for _, c := range req.CookiesNamed("sid") {
			genuine = genuine || c.Value == adminCookie
		}
		sess, err := s.New(req, "sid")
		if sess == nil {
			t.Fatalf("New(cookie %q) returned no session (%v)", value, err)
		}
		var se securecookie.Error
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("New(cookie %q): %v, not a securecookie.Error", value, err)
		}
		switch {
		case genuine:
			if err != nil || sess.IsNew || sess.ID != adminID || sess.Values["role"] != "admin" || len(sess.Values) != 1 {
				t.Fatalf("New(cookie %q), with the genuine cookie: ID %q new=%v values %v, %v", value, sess.ID, sess.IsNew, sess.Values, err)
			}
		case !sess.IsNew || sess.ID != "" || len(sess.Values) != 0:
			t.Fatalf("New(cookie %q), not genuine: ID %q new=%v values %v", value, sess.ID, sess.IsNew, sess.Values)
		}

		if err := st.Save(t.Context(), &fsstore.Session{ID: userID, Data: stored}); err != nil {
			t.Fatal(err)
		}
		req = httptest.NewRequest("GET", "https://example.com/", nil)
		req.AddCookie(&http.Cookie{Name: "sid", Value: userCookie})
		sess, err = s.New(req, "sid")
		if sess == nil {
			t.Fatalf("New over stored values %q returned no session (%v)", stored, err)
		}
		if err == nil && !sess.IsNew {
			if sess.ID != userID || sess.Values["role"] != "user" || len(sess.Values) != 1 {
				t.Fatalf("stored values %q loaded as ID %q values %v", stored, sess.ID, sess.Values)
			}
			return
		}
		if err == nil || !sess.IsNew || sess.ID != "" || len(sess.Values) != 0 {
			t.Fatalf("stored values %q: ID %q new=%v values %v, %v; want the saved values, or a new session and an error", stored, sess.ID, sess.IsNew, sess.Values, err)
		}
	})
}
