package httpsession_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestUnusableCookieBesideSession: browsers send every cookie of the name
// that matches the request, the longest path first, so a cookie left by an
// earlier Cookie.Path (or a sibling subdomain's) comes before the user's.
// One whose record is there but unusable (damaged, another application's
// payload, refused, sealed with a retired key) ended the search: the
// user's session, named by the next cookie, was not read, and the removal
// cookie answered for the stale one cleared the user's too, logging the
// user out. Every cookie is tried whatever its record's failure; the
// request uses the user's session and clears nothing, and the stale
// record is still logged, saying that another cookie was used.
func TestUnusableCookieBesideSession(t *testing.T) {
	cases := []struct {
		name string
		// spoil makes the record of stale, a session saved through st,
		// unusable; it returns the store the request is served from.
		spoil func(t *testing.T, e *env, stale string) *fsstore.Store
		log   string
	}{
		{"damaged", func(t *testing.T, e *env, stale string) *fsstore.Store {
			path := recordPath(e.st, stale)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, make([]byte, len(b)), 0o600); err != nil {
				t.Fatal(err)
			}
			return e.st
		}, "damaged session record"},
		{"another application's payload", func(t *testing.T, e *env, stale string) *fsstore.Store {
			if err := e.st.Save(t.Context(), &fsstore.Session{ID: stale, Data: []byte("\x00\x01gob")}); err != nil {
				t.Fatal(err)
			}
			return e.st
		}, "not a JSON object"},
		{"refused", func(t *testing.T, e *env, stale string) *fsstore.Store {
			path := recordPath(e.st, stale)
			if err := os.Rename(path, path+".elsewhere"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path+".elsewhere", path); err != nil {
				t.Skip(err)
			}
			return e.st
		}, "refused"},
	}
	modes := []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly}
	for _, tc := range cases {
		for _, mode := range modes {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				e := newEnv(t, nil)
				stale := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				valid := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				tc.spoil(t, e, stale)
				e.log.Reset()
				checkUnusableBeside(t, e.m, mode, stale, valid, e.log, tc.log)
			})
		}
	}
}

// TestRetiredKeyCookieBesideSession is TestUnusableCookieBesideSession for
// a stale cookie whose record is sealed with a key no longer configured.
func TestRetiredKeyCookieBesideSession(t *testing.T) {
	oldKey, _ := fsstore.NewKey(1)
	newKey, _ := fsstore.NewKey(2)
	dir := t.TempDir()
	open := func(keys ...fsstore.Key) *fsstore.Store {
		st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(keys...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	quiet := httpsession.WithLogger(slog.New(slog.DiscardHandler))
	stale := mustCookie(t, do(t, httpsession.New(open(oldKey), quiet).Handler(counter()), "")).Value
	valid := mustCookie(t, do(t, httpsession.New(open(newKey, oldKey), quiet).Handler(counter()), "")).Value
	st := open(newKey) // the old key was dropped before every record was rekeyed
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
		t.Run(mode.String(), func(t *testing.T) {
			var logBuf bytes.Buffer
			m := httpsession.New(st, httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf}, nil))))
			checkUnusableBeside(t, m, mode, stale, valid, &logBuf, "key that is not configured")
		})
	}
}

// checkUnusableBeside sends stale's cookie before valid's through m in
// mode, and checks that valid's session (n = 1) serves the request, that
// no cookie is set, and that the log names the stale record (logMsg), not
// the IDs.
func checkUnusableBeside(t *testing.T, m *httpsession.Manager, mode httpsession.Mode, stale, valid string, log *bytes.Buffer, logMsg string) {
	t.Helper()
	h := m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		fmt.Fprint(w, s.GetInt("n"), s.IsNew())
	}))
	req := httptest.NewRequest("GET", "https://example.com/app/", nil)
	req.Header.Set("Cookie", "session="+stale+"; session="+valid)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "1 false" {
		t.Errorf("status %d, body %q: want 200 and the user's session, named by the second cookie", resp.StatusCode, got)
	}
	if c := resp.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("Set-Cookie %q: want none (a removal clears the user's cookie too)", c)
	}
	logs := log.String()
	if !strings.Contains(logs, logMsg) || !strings.Contains(logs, "another cookie") || strings.Contains(logs, stale) || strings.Contains(logs, valid) {
		t.Errorf("log %q: want a line about the stale record (%q) saying another cookie was used, without the IDs", logs, logMsg)
	}
}

// TestUnusableCookieBesideRenewed: a stale cookie whose record is damaged,
// sent before the old cookie of a session that another request renewed a
// moment ago (a log in in another tab), is not cleared either: the browser
// may hold the log in's new cookie by now, under the same name and path,
// and a removal answered after the log in's would log the user out.
func TestUnusableCookieBesideRenewed(t *testing.T) {
	e := newEnv(t, nil)
	stale := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	old := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	logIn := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Renew(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	if c := mustCookie(t, do(t, logIn, old)); c.Value == old {
		t.Fatal("Renew kept the ID")
	}
	path := recordPath(e.st, stale)
	if err := os.WriteFile(path, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
		req := httptest.NewRequest("GET", "https://example.com/app/", nil)
		req.Header.Set("Cookie", "session="+stale+"; session="+old)
		rec := httptest.NewRecorder()
		e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpsession.FromContext(r.Context()).GetString("user")
		})).ServeHTTP(rec, req)
		if c := rec.Result().Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("%v: Set-Cookie %q: want none (it would clear the log in's new cookie)", mode, c)
		}
	}
}
