package scsstore_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestAnotherAdaptersRecordSaysWhy: scs and httpsession both name their
// cookie "session" and put the record's name in it, so an application
// that serves some routes through each on one store (or a fleet moving
// from one to the other) hands each the other's records, and every user
// is logged out at each crossing. The log line says what to do, where it
// said only "not an scs record"; the user starts afresh, as before.
func TestAnotherAdaptersRecordSaysWhy(t *testing.T) {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	// httpsession's record, under its default cookie name.
	m := httpsession.New(st)
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Put("user", "alice"); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "session" {
		t.Fatalf("httpsession's cookies: %v", cookies)
	}

	var logs bytes.Buffer
	sm := scs.New()
	sm.Lifetime = time.Hour
	sm.Store = scsstore.New(st, scsstore.WithCodecOf(sm), scsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if sm.Cookie.Name != cookies[0].Name {
		t.Fatalf("scs's cookie is %q, httpsession's %q: the test wants them alike", sm.Cookie.Name, cookies[0].Name)
	}
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(sm.GetString(r.Context(), "user")))
	})).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("scs with httpsession's cookie: %d %q; want 200 and no user (a fresh session)", rec.Code, rec.Body)
	}
	got := logs.String()
	for _, want := range []string{"not an scs record", "give each its own store directory or cookie name"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q: want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, cookies[0].Value) {
		t.Errorf("log %q names the session ID", got)
	}
}
