package scsstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A payload the session manager's codec cannot decode (a gob value of a
// type the binary no longer registers, a change of codec) is no session,
// as a damaged record is: scs answers a Decode error with ErrorFunc on
// every request of the user until the cookie expires, since it neither
// renews nor clears the cookie. With the codec given to the store, the user
// starts afresh under a new token; the refusal is logged, without the
// token, and counted, and Iterate skips the record instead of failing.
func TestUndecodablePayloadIsNoSession(t *testing.T) {
	clk := fakeclock.New()
	sm := scs.New()
	var logs bytes.Buffer
	st := open(t, t.TempDir(), clk, scsstore.WithCodecOf(sm), scsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	sm.Store = st
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("login") {
			sm.Put(r.Context(), "user", "alice")
		}
		w.Write([]byte(sm.GetString(r.Context(), "user")))
	})
	h := sm.LoadAndSave(mux)
	get := func(target string, c *http.Cookie) (*httptest.ResponseRecorder, *http.Cookie) {
		t.Helper()
		req := httptest.NewRequest("GET", target, nil)
		if c != nil {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		for _, rc := range w.Result().Cookies() {
			if rc.Name == sm.Cookie.Name {
				return w, rc
			}
		}
		return w, nil
	}

	w, cookie := get("/?login", nil)
	if w.Code != 200 || cookie == nil {
		t.Fatalf("login: %d, cookie %v", w.Code, cookie)
	}
	// The record now holds what this binary's codec cannot decode.
	if err := st.Commit(cookie.Value, []byte("not gob at all"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	w, _ = get("/", cookie)
	if w.Code != 200 || w.Body.String() != "" {
		t.Fatalf("request with the undecodable session: %d %q; want 200 and no user (a fresh session)", w.Code, w.Body)
	}
	w, again := get("/?login", cookie)
	if w.Code != 200 || again == nil || again.Value == cookie.Value {
		t.Fatalf("login again: %d, cookie %v; want a new token", w.Code, again)
	}
	if w, _ := get("/", again); w.Body.String() != "alice" {
		t.Fatalf("with the new cookie: %q, want alice", w.Body)
	}
	if n := st.Undecodable(); n != 2 {
		t.Errorf("Undecodable() = %d after two requests with the old cookie, want 2", n)
	}
	if !strings.Contains(logs.String(), "cannot decode") || strings.Contains(logs.String(), cookie.Value) {
		t.Errorf("log: %q; want the refusal, without the token", logs.String())
	}

	seen := 0
	if err := sm.Iterate(context.Background(), func(ctx context.Context) error {
		seen++
		return nil
	}); err != nil {
		t.Fatalf("Iterate: %v", err)
	}
	if seen != 1 {
		t.Errorf("Iterate saw %d sessions, want the one that decodes", seen)
	}
	if n := st.Undecodable(); n != 3 {
		t.Errorf("Undecodable() = %d after Iterate, want 3", n)
	}
}
