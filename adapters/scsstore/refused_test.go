package scsstore_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A refused record (a symbolic link at its name, a file this process may
// not read) is no session, as a damaged one is: scs neither renews nor
// clears a cookie whose Find failed, so an error would answer 500 on every
// request of that user until the cookie expires (scs's Lifetime, 24 h by
// default).
func TestRefusedRecordIsNoSession(t *testing.T) {
	dir := t.TempDir()
	clk := fakeclock.New()
	sm := scs.New()
	sm.Store = open(t, dir, clk)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "alice")
	})
	h := sm.LoadAndSave(mux)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == sm.Cookie.Name {
			cookie = c
		}
	}
	if w.Code != 200 || cookie == nil {
		t.Fatalf("first request: %d, cookie %v", w.Code, cookie)
	}

	// Replace the user's record with a symbolic link.
	var rec string
	filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rec = p
		}
		return err
	})
	if rec == "" {
		t.Fatal("no record")
	}
	os.Remove(rec)
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), rec); err != nil {
		t.Skip(err)
	}

	for i := range 2 {
		clk.Advance(time.Minute)
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("request %d after the record was refused: status %d %q; want a fresh session", i+2, w.Code, w.Body)
		}
	}
}
