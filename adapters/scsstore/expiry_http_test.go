package scsstore_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// clockedMemstore is scs's memstore with its expiry rule (a session is
// gone once the expiry scs passed to Commit is past) judged by the fake
// clock instead of time.Now, so that a test can jump a day ahead.
type clockedMemstore struct {
	mem *memstore.MemStore
	now func() time.Time

	mu     sync.Mutex
	expiry map[string]time.Time
}

func (m *clockedMemstore) Find(token string) ([]byte, bool, error) {
	m.mu.Lock()
	exp, ok := m.expiry[token]
	m.mu.Unlock()
	if !ok || m.now().After(exp) {
		return nil, false, nil
	}
	return m.mem.Find(token)
}

func (m *clockedMemstore) Commit(token string, b []byte, expiry time.Time) error {
	m.mu.Lock()
	m.expiry[token] = expiry
	m.mu.Unlock()
	// memstore itself sees a far expiry: only the fake clock decides.
	return m.mem.Commit(token, b, expiry.Add(365*24*time.Hour))
}

func (m *clockedMemstore) Delete(token string) error {
	m.mu.Lock()
	delete(m.expiry, token)
	m.mu.Unlock()
	return m.mem.Delete(token)
}

// scsApp serves an app with scs's default settings (Lifetime 24 h, no
// IdleTimeout): /login puts a user, / reads it.
func scsApp(t *testing.T, store scs.Store) *httptest.Server {
	t.Helper()
	sm := scs.New()
	sm.Store = store
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "alice")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sm.GetString(r.Context(), "user"))
	})
	srv := httptest.NewServer(sm.LoadAndSave(mux))
	t.Cleanup(srv.Close)
	return srv
}

func getUser(t *testing.T, srv *httptest.Server, path string, cookie *http.Cookie) (string, *http.Cookie) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		// Sent whatever its Expires: the browser's clock is not the fake
		// one, and the server must judge.
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
		if c.Name == "session" {
			return string(b), c
		}
	}
	return string(b), nil
}

// TestDefaultsKeepScsExpiryOverHTTP: switching an scs app with default
// settings to scsstore, on a store opened with its own defaults (idle
// timeout 24 min), keeps users logged in exactly as long as scs's memstore
// does, through inactivity and through requests that only read (which scs
// does not commit).
func TestDefaultsKeepScsExpiryOverHTTP(t *testing.T) {
	steps := []time.Duration{25 * time.Minute, 23 * time.Hour, 24*time.Hour + time.Minute}
	tests := []struct {
		name  string
		reads bool // read every 20 minutes in between
	}{
		{"inactive", false},
		{"reading every 20 minutes", true},
	}
	for _, tt := range tests {
		for _, after := range steps {
			t.Run(fmt.Sprintf("%s/%v", tt.name, after), func(t *testing.T) {
				clk := fakeclock.New()
				st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithDurability(fsstore.DurabilityNone))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				ours := scsApp(t, scsstore.New(st, scsstore.WithClock(clk.Now)))
				theirs := scsApp(t, &clockedMemstore{mem: memstore.NewWithCleanupInterval(0), now: clk.Now, expiry: map[string]time.Time{}})
				_, ourCookie := getUser(t, ours, "/login", nil)
				_, theirCookie := getUser(t, theirs, "/login", nil)
				if ourCookie == nil || theirCookie == nil {
					t.Fatal("log in set no cookie")
				}
				for elapsed := time.Duration(0); ; {
					step := after - elapsed
					if tt.reads {
						step = min(step, 20*time.Minute)
					}
					clk.Advance(step)
					elapsed += step
					if elapsed == after {
						break
					}
					// Reads in between see the same on both stores.
					got, _ := getUser(t, ours, "/", ourCookie)
					want, _ := getUser(t, theirs, "/", theirCookie)
					if got != want {
						t.Fatalf("after %v: scsstore says user %q, memstore %q", elapsed, got, want)
					}
				}
				got, _ := getUser(t, ours, "/", ourCookie)
				want, _ := getUser(t, theirs, "/", theirCookie)
				if got != want {
					t.Errorf("after %v: scsstore says user %q, memstore %q", after, got, want)
				}
				// And the expectation in words: scs's Lifetime is 24 h.
				if alive := after < 24*time.Hour; alive != (got == "alice") {
					t.Errorf("after %v: user %q, want logged in = %v", after, got, alive)
				}
			})
		}
	}
}
