package gorillastore_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// gorillaApp serves an app with gorilla's defaults (MaxAge 30 days): /login
// saves a user, / reads it without saving; both answer 500 when the store
// returns an error.
func gorillaApp(t *testing.T, store sessions.Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "app")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.Values["user"] = "alice"
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// An app that checks the error, as gorilla's documentation does:
		// an expired or unreadable session must not become a 500.
		s, err := store.Get(r, "app")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, s.Values["user"])
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func visit(t *testing.T, srv *httptest.Server, path string, cookie *http.Cookie) (string, *http.Cookie) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d %s", path, resp.StatusCode, b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "app" {
			return string(b), c
		}
	}
	return string(b), nil
}

// TestDefaultsKeepGorillaExpiryOverHTTP: switching a gorilla app with
// default options from FilesystemStore to gorillastore, on a store opened
// with its own defaults (idle timeout 24 min), keeps users logged in as
// FilesystemStore does: MaxAge (30 days) after the last save, through
// inactivity and through requests that only read.
func TestDefaultsKeepGorillaExpiryOverHTTP(t *testing.T) {
	tests := []struct {
		reads bool // read every 20 minutes in between
		after time.Duration
		// compare: FilesystemStore keeps no server-side expiry and checks
		// the cookie's age with the real clock, which a test cannot move
		// 30 days; past MaxAge its cookie is dead (the browser drops it,
		// securecookie refuses its timestamp), which is what we expect.
		compare bool
		alive   bool
	}{
		{false, 25 * time.Minute, true, true},
		{false, 23 * time.Hour, true, true},
		{false, 24*time.Hour + time.Minute, true, true},
		{false, 30*24*time.Hour + time.Minute, false, false},
		{true, 25 * time.Minute, true, true},
		{true, 23 * time.Hour, true, true},
		{true, 24*time.Hour + time.Minute, true, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("inactive/%v", tt.after)
		if tt.reads {
			name = fmt.Sprintf("reading every 20 minutes/%v", tt.after)
		}
		t.Run(name, func(t *testing.T) {
			clk := fakeclock.New()
			st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			ours := gorillastore.New(st, key)
			ours.SetClock(clk.Now)
			theirs := sessions.NewFilesystemStore(t.TempDir(), key)
			ourSrv, theirSrv := gorillaApp(t, ours), gorillaApp(t, theirs)
			_, ourCookie := visit(t, ourSrv, "/login", nil)
			_, theirCookie := visit(t, theirSrv, "/login", nil)
			if ourCookie == nil || theirCookie == nil {
				t.Fatal("log in set no cookie")
			}
			for elapsed := time.Duration(0); ; {
				step := tt.after - elapsed
				if tt.reads {
					step = min(step, 20*time.Minute)
				}
				clk.Advance(step)
				elapsed += step
				if elapsed == tt.after {
					break
				}
				got, _ := visit(t, ourSrv, "/", ourCookie)
				want, _ := visit(t, theirSrv, "/", theirCookie)
				if got != want {
					t.Fatalf("after %v: gorillastore says user %q, FilesystemStore %q", elapsed, got, want)
				}
			}
			got, _ := visit(t, ourSrv, "/", ourCookie)
			if tt.compare {
				if want, _ := visit(t, theirSrv, "/", theirCookie); got != want {
					t.Errorf("after %v: gorillastore says user %q, FilesystemStore %q", tt.after, got, want)
				}
			}
			if tt.alive != (got == "alice") {
				t.Errorf("after %v: user %q, want logged in = %v", tt.after, got, tt.alive)
			}
		})
	}
}
