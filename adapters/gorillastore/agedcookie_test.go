package gorillastore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
)

// TestCookiePastItsAgeBound: a cookie signed with the store's keys longer
// ago than the codecs' age bound (Store.MaxAge) is an expired session: a
// new session without an error. The browser may keep it much longer: a
// session saved with its own MaxAge past the store's ("remember me"), or
// the application lowered Store.MaxAge. With securecookie's "expired
// timestamp" error, an app that returns Get's error (echo-contrib's usage)
// would answer 500 on every request of that user until the browser drops
// the cookie. A cookie signed with other keys is still an error.
//
// securecookie reads the real clock: the test runs in a synctest bubble,
// whose clock time.Sleep moves at once.
func TestCookiePastItsAgeBound(t *testing.T) {
	const day = 86400
	tests := []struct {
		name    string
		cookie  func(t *testing.T, s *gorillastore.Store) *http.Cookie
		reader  func(s *gorillastore.Store) // changes the reading store
		after   time.Duration
		wantErr bool
	}{
		{
			name: "the session's own MaxAge past the store's",
			cookie: func(t *testing.T, s *gorillastore.Store) *http.Cookie {
				return saveWith(t, s, func(o *sessions.Options) { o.MaxAge = 90 * day })
			},
			after: 31 * 24 * time.Hour,
		},
		{
			name: "the store's MaxAge lowered",
			cookie: func(t *testing.T, s *gorillastore.Store) *http.Cookie {
				return saveWith(t, s, nil)
			},
			reader: func(s *gorillastore.Store) { s.MaxAge(day) },
			after:  2 * 24 * time.Hour,
		},
		{
			name: "CookieStore's, signed with the keys",
			cookie: func(t *testing.T, _ *gorillastore.Store) *http.Cookie {
				return saveWith(t, sessions.NewCookieStore(key), nil)
			},
			after: 31 * 24 * time.Hour,
		},
		{
			name: "signed with other keys",
			cookie: func(t *testing.T, _ *gorillastore.Store) *http.Cookie {
				v, err := securecookie.EncodeMulti("app", "AAAAAAAAAAAAAAAAAAAAAA", securecookie.CodecsFromPairs([]byte("another application's key, 32 b"))...)
				if err != nil {
					t.Fatal(err)
				}
				return &http.Cookie{Name: "app", Value: v}
			},
			after:   31 * 24 * time.Hour,
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				c := tt.cookie(t, gorillastore.New(st, key))
				time.Sleep(tt.after)
				s := gorillastore.New(st, key)
				if tt.reader != nil {
					tt.reader(s)
				}
				sess, err := s.New(request(c), "app")
				if (err != nil) != tt.wantErr || !sess.IsNew || len(sess.Values) != 0 {
					t.Fatalf("%v later: new %v, values %v, err %v; want a new empty session, error %v", tt.after, sess.IsNew, sess.Values, err, tt.wantErr)
				}
				sess.Values["user"] = "bob"
				w := httptest.NewRecorder()
				if err := s.Save(request(c), w, sess); err != nil {
					t.Fatal(err)
				}
				if got, err := s.New(request(cookieOf(t, w, "app")), "app"); err != nil || got.Values["user"] != "bob" {
					t.Errorf("the new session: values %v, err %v", got.Values, err)
				}
			})
		})
	}
}

// saveWith saves a session with a user through store, its options changed
// by opts, and returns its cookie.
func saveWith(t *testing.T, store sessions.Store, opts func(*sessions.Options)) *http.Cookie {
	t.Helper()
	req := request(nil)
	sess, err := store.New(req, "app")
	if err != nil {
		t.Fatal(err)
	}
	if opts != nil {
		opts(sess.Options)
	}
	sess.Values["user"] = "alice"
	w := httptest.NewRecorder()
	if err := store.Save(req, w, sess); err != nil {
		t.Fatal(err)
	}
	return cookieOf(t, w, "app")
}
