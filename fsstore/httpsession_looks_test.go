package fsstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// httpsession looks for a missing record once where it holds the
// session's lock (Exclusive mode), and not at all for an ID it drew itself
// a moment ago (a log in's fresh ID): every write it makes is under the
// lock, so no save of its can be in flight there, and the looks again
// that a Load makes on NFS (five round trips, some 31 ms) would be spent
// holding a lock stripe that other sessions share, at every cookie naming
// a session that is gone. Without the lock (ReadOnly, Optimistic) a locked save by another
// host may be in flight, and those loads keep looking. Here, rather than
// in httpsession, for the store's hook that counts the looks.
func TestHTTPSessionMissingRecordLooks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  httpsession.Mode
		login bool // renew an existing session and save a value
		looks int
		// asideLooks: at the aside names, for a record missing at its
		// name; -1: not counted. A log in's fresh ID, drawn a moment
		// ago, is looked for nowhere: no record can be at its name.
		asideLooks int
	}{
		{"Exclusive, cookie naming no session", httpsession.Exclusive, false, 0, 1},
		{"Exclusive, log in over a session", httpsession.Exclusive, true, 0, 0},
		{"ReadOnly, cookie naming no session", httpsession.ReadOnly, false, 5, -1},
		{"Optimistic, cookie naming no session", httpsession.Optimistic, false, 5, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			s.SetNFSForTest()
			looks, asideLooks := 0, 0
			s.SetGoneLookHookForTest(func(string) { looks++ })
			s.SetAsideLookHookForTest(func(string) { asideLooks++ })
			m := httpsession.New(s, httpsession.WithCookie(httpsession.DefaultCookie()))
			h := m.Middleware(tc.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sess := httpsession.FromContext(r.Context())
				if r.URL.Path != "/login" {
					sess.GetString("user")
					return
				}
				if err := sess.Renew(); err != nil {
					t.Error(err)
				}
				if err := sess.Put("user", "alice"); err != nil {
					t.Error(err)
				}
			}))
			serve := func(path, cookie string) *http.Response {
				t.Helper()
				req := httptest.NewRequest(http.MethodGet, "https://example.com"+path, nil)
				if cookie != "" {
					req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
				}
				return rec.Result()
			}
			id := newID(t)
			path := "/"
			if tc.login {
				if err := s.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte(`{"visits":1}`)}); err != nil {
					t.Fatal(err)
				}
				path = "/login"
			}
			resp := serve(path, id)
			if looks != tc.looks {
				t.Errorf("looked again %d times for a missing record; want %d", looks, tc.looks)
			}
			if tc.asideLooks >= 0 && asideLooks != tc.asideLooks {
				t.Errorf("looked at the aside names %d times; want %d", asideLooks, tc.asideLooks)
			}
			if tc.login {
				var fresh string
				for _, c := range resp.Cookies() {
					if c.Name == "session" {
						fresh = c.Value
					}
				}
				if got, err := s.Load(t.Context(), fresh); err != nil || len(got.Data) == 0 || fresh == id {
					t.Errorf("the log in's session %q (was %q): %v, %v", fresh, id, got, err)
				}
			}
		})
	}
}

// A first visit that puts a value saves its session under an ID it drew
// a moment ago, in every mode that writes: nobody else can know the ID and
// no record can be at its name, so it looks for none (on NFS a
// CompareAndSwap from version 0 looked at the name and both aside names,
// and at the name again, 5 round trips of a first visit's 13).
func TestHTTPSessionNewSessionLooks(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		s := openTemp(t)
		s.SetNFSForTest()
		looks, asideLooks := 0, 0
		s.SetGoneLookHookForTest(func(string) { looks++ })
		s.SetAsideLookHookForTest(func(string) { asideLooks++ })
		m := httpsession.New(s, httpsession.WithCookie(httpsession.DefaultCookie()))
		h := m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.FromContext(r.Context()).Put("user", "alice"); err != nil {
				t.Error(err)
			}
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://example.com/", nil))
		if rec.Code != http.StatusOK || len(rec.Result().Cookies()) == 0 {
			t.Fatalf("mode %v: status %d, cookies %v: %s", mode, rec.Code, rec.Result().Cookies(), rec.Body)
		}
		if looks != 0 || asideLooks != 0 {
			t.Errorf("mode %v: a first visit's new session looked for a record at its fresh ID: %d times at the aside names, %d times again; want none", mode, asideLooks, looks)
		}
		if got, err := s.Load(t.Context(), rec.Result().Cookies()[0].Value); err != nil || len(got.Data) == 0 {
			t.Errorf("mode %v: the first visit's session: %v, %v", mode, got, err)
		}
	}
}
