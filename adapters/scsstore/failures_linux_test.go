//go:build linux

package scsstore_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/internal/webtest"
)

func scsCounter(sm *scs.SessionManager) http.Handler {
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		fmt.Fprint(w, n)
	}))
}

func serveToken(h http.Handler, name, token string, set bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	if set {
		req.Header.Set("Cookie", name+"="+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func tokenOf(t *testing.T, w *httptest.ResponseRecorder, name string) string {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie: %v", name, w.Header())
	return ""
}

// TestFailuresOverHTTP: what an scs application on scsstore (with
// scsstore.ErrorFunc) answers when the user's token is malformed, the
// record is damaged, or the disk is full at commit.
func TestFailuresOverHTTP(t *testing.T) {
	newApp := func(t *testing.T, dir string) (*scs.SessionManager, http.Handler) {
		sm := scs.New()
		sm.Store = open(t, dir, fakeclock.New())
		sm.ErrorFunc = scsstore.ErrorFunc(slog.New(slog.DiscardHandler))
		return sm, scsCounter(sm)
	}
	t.Run("malformed tokens", func(t *testing.T) {
		dir := t.TempDir()
		sm, h := newApp(t, dir)
		for _, bad := range []string{"../../etc/passwd", strings.Repeat("A", 100<<10), "", strings.Repeat("é", 20), "AAAAAAAAAAAAAAAA\x00AAAAAAAAAAAAAAAA"} {
			w := serveToken(h, sm.Cookie.Name, bad, true)
			if w.Code != http.StatusOK || w.Body.String() != "1" {
				t.Errorf("token %.20q: status %d, body %q; want a new session", bad, w.Code, w.Body)
				continue
			}
			if tok := tokenOf(t, w, sm.Cookie.Name); tok == bad || fsstore.ValidID(tok) != nil {
				t.Errorf("token %.20q: new token %.20q", bad, tok)
			}
		}
		if n := len(webtest.RecordFiles(t, dir)); n != 5 {
			t.Errorf("%d records; want the five new sessions'", n)
		}
	})
	for _, dmg := range []struct {
		name string
		do   func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"zero-length", func([]byte) []byte { return nil }},
		{"bit flipped", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
	} {
		t.Run("record "+dmg.name, func(t *testing.T) {
			dir := t.TempDir()
			sm, h := newApp(t, dir)
			victim := tokenOf(t, serveToken(h, sm.Cookie.Name, "", false), sm.Cookie.Name)
			rec := webtest.RecordFiles(t, dir)[0]
			other := tokenOf(t, serveToken(h, sm.Cookie.Name, "", false), sm.Cookie.Name)
			b, err := os.ReadFile(rec)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(rec, dmg.do(b), 0o600); err != nil {
				t.Fatal(err)
			}
			w := serveToken(h, sm.Cookie.Name, victim, true)
			if w.Code != http.StatusOK || w.Body.String() != "1" {
				t.Fatalf("status %d, body %q; want a fresh session", w.Code, w.Body)
			}
			if tok := tokenOf(t, w, sm.Cookie.Name); tok == victim {
				t.Error("the damaged session's token reused")
			}
			if w := serveToken(h, sm.Cookie.Name, other, true); w.Body.String() != "2" {
				t.Errorf("another user's session: %q, want 2", w.Body)
			}
		})
	}
	t.Run("disk full", func(t *testing.T) {
		mnt := testenv.MountTmpfs(t, "1m")
		dir := filepath.Join(mnt, "store")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		sm, h := newApp(t, dir)
		user := tokenOf(t, serveToken(h, sm.Cookie.Name, "", false), sm.Cookie.Name)
		free := testenv.FillUp(t, mnt)
		for _, set := range []bool{true, false} {
			w := serveToken(h, sm.Cookie.Name, user, set)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || len(w.Result().Cookies()) != 0 {
				t.Errorf("cookie %v: status %d, Retry-After %q, Set-Cookie %v: want 503 with Retry-After, no cookie", set, w.Code, w.Header().Get("Retry-After"), w.Result().Cookies())
			}
		}
		free()
		if w := serveToken(h, sm.Cookie.Name, user, true); w.Code != http.StatusOK || w.Body.String() != "2" {
			t.Errorf("once space is freed: status %d, body %q; want the user's session, 2", w.Code, w.Body)
		}
	})
}
