package gorillastore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/webtest"
)

// counterApp is a gorilla application as gorilla's documentation writes
// one: it ignores Get's error (the session is new then) and answers
// Save's error with httpsession.StatusCode.
func counterApp(s *gorillastore.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := s.Get(r, "app")
		n, _ := sess.Values["n"].(int)
		sess.Values["n"] = n + 1
		if err := sess.Save(r, w); err != nil {
			http.Error(w, err.Error(), httpsession.StatusCode(err))
			return
		}
		fmt.Fprint(w, n+1)
	})
}

func serveCookie(h http.Handler, header string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://www.example.com/", nil)
	if header != "" {
		req.Header.Set("Cookie", header)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestBadCookiesOverHTTP: a session cookie that is not one of this store's
// (a path, 100 KB, junk bytes, empty, an ID signed with the key but
// malformed) is a new visitor: 200, a fresh session whose cookie names a
// well-formed ID, and nothing reaches the file system. Sent beside the
// user's real cookie of the same name (another Path's, a sibling domain's,
// before it as browsers send the longer path first), it must not cost the
// user the session.
func TestBadCookiesOverHTTP(t *testing.T) {
	s, st := open(t, t.TempDir(), fakeclock.New())
	signedBad, err := securecookie.EncodeMulti("app", "../../etc/passwd", s.Codecs...)
	if err != nil {
		t.Fatal(err)
	}
	h := counterApp(s)
	for _, bad := range []struct{ name, value string }{
		{"path traversal", "../../etc/passwd"},
		{"100 KB", strings.Repeat("A", 100<<10)},
		{"empty", ""},
		{"non-ASCII", strings.Repeat("é", 20)},
		{"NUL bytes", "MTIzNDU2Nzg5MA\x00MTIzNDU2Nzg5MA"},
		{"signed malformed ID", signedBad},
		{"signed with another key", mustEncode(t, "AAAAAAAAAAAAAAAAAAAA", securecookie.CodecsFromPairs([]byte("other key"))...)},
	} {
		t.Run(bad.name, func(t *testing.T) {
			records := len(webtest.RecordFiles(t, st.Dir()))
			w := serveCookie(h, "app="+bad.value)
			if w.Code != http.StatusOK || w.Body.String() != "1" {
				t.Fatalf("alone: status %d, body %q; want 200 and a new session", w.Code, w.Body)
			}
			if id := decodeID(t, s, cookieOf(t, w, "app")); fsstore.ValidID(id) != nil {
				t.Errorf("new cookie names %q: want a well-formed ID", id)
			}
			if n := len(webtest.RecordFiles(t, st.Dir())); n != records+1 {
				t.Errorf("%d records, want %d: the new session's alone", n, records+1)
			}

			user := cookieOf(t, serveCookie(h, ""), "app")
			userID := decodeID(t, s, user)
			for _, header := range []string{"app=" + bad.value + "; app=" + user.Value, "app=" + user.Value + "; app=" + bad.value} {
				w = serveCookie(h, header)
				if w.Code != http.StatusOK {
					t.Fatalf("%q: status %d, body %q", header[:min(len(header), 40)], w.Code, w.Body)
				}
				if c := cookieOf(t, w, "app"); decodeID(t, s, c) != userID {
					t.Errorf("beside the user's cookie: body %q, and the answer's cookie replaces the user's session with another: the user is logged out", w.Body)
				}
			}
			if sess, err := s.New(request(user), "app"); err != nil || sess.Values["n"] != 3 {
				t.Errorf("the user's session: %v (err %v), want n=3", sess.Values, err)
			}
		})
	}
}

func decodeID(t *testing.T, s *gorillastore.Store, c *http.Cookie) string {
	t.Helper()
	var id string
	if err := securecookie.DecodeMulti(c.Name, c.Value, &id, s.Codecs...); err != nil {
		t.Fatalf("cookie %s: %v", c.Name, err)
	}
	return id
}

// TestCookieOrderAndErrors: with several cookies of the session's name,
// New's error is the first non-empty cookie's, as when only it was read: a stale
// cookie of this store (its session gone) followed by one signed with
// other keys is a new session without an error, or a handler returning
// Get's error would answer 500 for good, never saving the cookie that
// replaces the stale one. Junk cookies do not count toward the bound on
// loads, so any number of them before the user's cannot hide it.
func TestCookieOrderAndErrors(t *testing.T) {
	s, _ := open(t, t.TempDir(), fakeclock.New())
	stale, err := securecookie.EncodeMulti("app", strings.Repeat("ab", 32), s.Codecs...)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := securecookie.EncodeMulti("app", strings.Repeat("cd", 32), securecookie.New([]byte("another application's key, 32 b"), nil))
	if err != nil {
		t.Fatal(err)
	}
	user := cookieOf(t, serveCookie(counterApp(s), ""), "app").Value
	junk := strings.Repeat("app=junk; ", 6)
	// staleIDs is n cookies signed with the store's keys, each naming
	// another ID the store does not have: each costs New a load.
	staleIDs := func(n int) string {
		var b strings.Builder
		for i := range n {
			c, err := securecookie.EncodeMulti("app", strings.Repeat(string(rune('a'+i)), 64), s.Codecs...)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("app=" + c + "; ")
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, header string
		wantErr      bool
		wantN        int // the session's counter; 0: a new session
	}{
		{"stale", "app=" + stale, false, 0},
		{"stale, then foreign", "app=" + stale + "; app=" + foreign, false, 0},
		{"foreign, then stale", "app=" + foreign + "; app=" + stale, true, 0},
		// An empty cookie (a logout's left by FilesystemStore) is no
		// cookie: the first with a value decides the error.
		{"empty, then foreign", "app=; app=" + foreign, true, 0},
		{"empty, then stale", "app=; app=" + stale, false, 0},
		{"junk before the user's", junk + "app=" + user, false, 1},
		{"the user's twice", "app=" + user + "; app=" + user, false, 1},
		// At most four loads: a fifth cookie naming an ID is not tried.
		{"three stale IDs before the user's", staleIDs(3) + "app=" + user, false, 1},
		{"four stale IDs before the user's", staleIDs(4) + "app=" + user, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://www.example.com/", nil)
			req.Header.Set("Cookie", tc.header)
			sess, err := s.New(req, "app")
			n, _ := sess.Values["n"].(int)
			if (err != nil) != tc.wantErr || n != tc.wantN {
				t.Errorf("New: n=%d, err %v; want n=%d, error %v", n, err, tc.wantN, tc.wantErr)
			}
		})
	}
}

// TestBadBlockKeyCodec: a codec whose block key AES refuses fails every
// cookie with a usage error that has a cause; that must not pass for a
// cookie signed with the store's keys, or any forged cookie would be
// taken for the application's own and answered without an error.
func TestBadBlockKeyCodec(t *testing.T) {
	_, st := open(t, t.TempDir(), fakeclock.New())
	s := gorillastore.New(st, key, nil, []byte("old hash key"), []byte("20-byte-block-key!!!"))
	foreign, err := securecookie.EncodeMulti("app", strings.Repeat("cd", 32), securecookie.New([]byte("another application's key, 32 b"), nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{foreign, "Zm9vYmFy"} {
		req := httptest.NewRequest("GET", "http://www.example.com/", nil)
		req.Header.Set("Cookie", "app="+v)
		if _, err := s.New(req, "app"); err == nil {
			t.Errorf("cookie %.20q: no error; want securecookie's", v)
		}
	}
}
