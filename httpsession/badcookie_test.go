package httpsession_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// badCookies are Cookie headers carrying a session ID no store may use. Go's
// cookie parser drops values with bytes outside the cookie alphabet (NUL,
// non-ASCII): the session sees no cookie at all, and no removal can be
// asked for (Set-Cookie cannot name such a value either way).
var badCookies = []struct {
	name, header string
	parsed       bool // net/http hands the value to the middleware
}{
	{"path traversal", "session=../../etc/passwd", true},
	{"traversal of ID length", "session=..%2F..%2F..%2F..%2Fetc%2Fpasswd", true},
	{"100 KB", "session=" + strings.Repeat("A", 100<<10), true},
	{"one over the length limit", "session=" + strings.Repeat("A", fsstore.MaxIDLen+1), true},
	{"empty", "session=", true},
	{"non-ASCII", "session=" + strings.Repeat("é", 20), false},
	{"invalid UTF-8", "session=" + strings.Repeat("\xff\xfe", 20), false},
	{"NUL bytes", "session=AAAAAAAAAAAAAAAA\x00AAAAAAAAAAAAAAAA", false},
}

// TestBadCookieIDs: a request whose session cookie holds a malformed ID is
// served as a new visitor in every mode, never reaches the file system
// (no file outside the store, no record under the ID), and is answered
// with a fresh ID when the handler saves or the malformed cookie's removal
// when it only reads. A well-formed cookie of the name sent with it (two
// cookies of one name) is the one used, and never removed; sessions saved
// before are intact.
func TestBadCookieIDs(t *testing.T) {
	modes := []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly}
	for _, bad := range badCookies {
		for _, mode := range modes {
			t.Run(bad.name+"/"+mode.String(), func(t *testing.T) {
				e := newEnv(t, nil)
				valid := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				before := storeFiles(t, filepath.Join(e.st.Dir(), fsstore.DataDir))
				h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					n := s.GetInt("n")
					if mode != httpsession.ReadOnly {
						n++
						if err := s.Put("n", n); err != nil {
							t.Errorf("Put: %v", err)
						}
					}
					fmt.Fprint(w, n, s.IsNew())
				}))
				serve := func(header string) *http.Response {
					req := httptest.NewRequest("GET", "http://example.com/", nil)
					req.Header.Set("Cookie", header)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					return rec.Result()
				}

				// Alone: a new visitor.
				resp := serve(bad.header)
				want := "1 true"
				if mode == httpsession.ReadOnly {
					want = "0 true"
				}
				if got := body(t, resp); resp.StatusCode != http.StatusOK || got != want {
					t.Fatalf("status %d, body %q: want 200 and %q", resp.StatusCode, got, want)
				}
				c := sessionCookie(resp)
				switch {
				case mode != httpsession.ReadOnly:
					if c == nil || c.MaxAge <= 0 || fsstore.ValidID(c.Value) != nil || c.Value == valid {
						t.Errorf("Set-Cookie %v: want a fresh, well-formed ID", c)
					}
				case bad.parsed:
					if c == nil || c.MaxAge >= 0 || c.Value != "" {
						t.Errorf("Set-Cookie %v: want the malformed cookie removed", c)
					}
				case c != nil:
					t.Errorf("Set-Cookie %v for a cookie the request did not carry", c)
				}
				grown := len(storeFiles(t, filepath.Join(e.st.Dir(), fsstore.DataDir))) - len(before)
				if mode == httpsession.ReadOnly && grown != 0 || mode != httpsession.ReadOnly && grown != 1 {
					t.Errorf("the store gained %d records; want the new session's alone", grown)
				}

				// Beside the user's real cookie, before or after it.
				for _, header := range []string{bad.header + "; session=" + valid, "session=" + valid + "; " + bad.header} {
					resp := serve(header)
					b := body(t, resp)
					if resp.StatusCode != http.StatusOK || !strings.HasSuffix(b, " false") {
						t.Errorf("with the valid cookie too: status %d, body %q: want the user's session", resp.StatusCode, b)
					}
					if c := sessionCookie(resp); c != nil {
						t.Errorf("with the valid cookie too: Set-Cookie %v, want none (a removal would log the user out)", c)
					}
				}
				if sess, err := e.st.Load(t.Context(), valid); err != nil {
					t.Errorf("the user's session: %v", err)
				} else if mode == httpsession.ReadOnly && string(sess.Data) != "{\n\"n\":1\n}" {
					t.Errorf("the user's session changed by read-only requests: %q", sess.Data)
				}
			})
		}
	}
}

// storeFiles lists the files under dir (the store's data directory: lock
// files are named by stripe, whatever the IDs).
func storeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
