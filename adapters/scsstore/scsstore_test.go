package scsstore_test

import (
	"bytes"
	"fmt"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// The interfaces scs detects by type assertion.
var (
	_ scs.Store            = (*scsstore.Store)(nil)
	_ scs.CtxStore         = (*scsstore.Store)(nil)
	_ scs.IterableStore    = (*scsstore.Store)(nil)
	_ scs.IterableCtxStore = (*scsstore.Store)(nil)
)

func open(t *testing.T, dir string, clk *fakeclock.Clock, opts ...scsstore.Option) *scsstore.Store {
	t.Helper()
	st, err := fsstore.Open(dir, fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return scsstore.New(st, append([]scsstore.Option{scsstore.WithClock(clk.Now)}, opts...)...)
}

func newToken(t *testing.T) string {
	t.Helper()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustFind(t *testing.T, s *scsstore.Store, token string) ([]byte, bool) {
	t.Helper()
	b, found, err := s.Find(token)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	return b, found
}

// The behaviour checks of scs's memstore tests, against our store.
func TestMemstoreBehaviour(t *testing.T) {
	clk := fakeclock.New()
	s := open(t, t.TempDir(), clk)
	tok := newToken(t)

	t.Run("find missing", func(t *testing.T) {
		if _, found := mustFind(t, s, newToken(t)); found {
			t.Error("found a missing token")
		}
	})
	t.Run("malformed tokens are not found and not errors", func(t *testing.T) {
		for _, bad := range []string{"", "short", "../../../../etc/passwd", "has space in it........",
			strings.Repeat("A", 1<<20), strings.Repeat("é", 30), "AAAAAAAAAAAAAAAAAAAAAA\x00AAAAAAAAAAAAAAAAAAAA"} {
			if _, found := mustFind(t, s, bad); found {
				t.Errorf("found %q", bad)
			}
			if err := s.Delete(bad); err != nil {
				t.Errorf("Delete(%q) = %v", bad, err)
			}
		}
	})
	t.Run("commit new and find", func(t *testing.T) {
		if err := s.Commit(tok, []byte("encoded_data"), clk.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if b, found := mustFind(t, s, tok); !found || string(b) != "encoded_data" {
			t.Errorf("Find = %q, %v", b, found)
		}
	})
	t.Run("commit updated", func(t *testing.T) {
		if err := s.Commit(tok, []byte("new_encoded_data"), clk.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if b, _ := mustFind(t, s, tok); string(b) != "new_encoded_data" {
			t.Errorf("Find = %q", b)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		tok := newToken(t)
		if err := s.Commit(tok, []byte("x"), clk.Now().Add(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, found := mustFind(t, s, tok); !found {
			t.Fatal("not found before expiry")
		}
		clk.Advance(101 * time.Millisecond)
		if _, found := mustFind(t, s, tok); found {
			t.Error("found after expiry")
		}
	})
	t.Run("commit with a past expiry deletes", func(t *testing.T) {
		tok := newToken(t)
		s.Commit(tok, []byte("x"), clk.Now().Add(time.Minute))
		if err := s.Commit(tok, []byte("x"), clk.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, found := mustFind(t, s, tok); found {
			t.Error("found")
		}
	})
	t.Run("delete", func(t *testing.T) {
		tok := newToken(t)
		s.Commit(tok, []byte("x"), clk.Now().Add(time.Minute))
		if err := s.Delete(tok); err != nil {
			t.Fatal(err)
		}
		if _, found := mustFind(t, s, tok); found {
			t.Error("found after Delete")
		}
		if err := s.Delete(tok); err != nil {
			t.Errorf("second Delete = %v, want nil", err)
		}
	})
}

func TestAll(t *testing.T) {
	clk := fakeclock.New()
	s := open(t, t.TempDir(), clk)
	all, err := s.All()
	if err != nil || all == nil || len(all) != 0 {
		t.Fatalf("All on an empty store = %v, %v; want an empty non-nil map", all, err)
	}
	want := map[string]string{}
	for i := range 5 {
		tok := newToken(t)
		want[tok] = fmt.Sprint("data", i)
		if err := s.Commit(tok, []byte(want[tok]), clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	short := newToken(t)
	s.Commit(short, []byte("expires"), clk.Now().Add(time.Minute))
	clk.Advance(2 * time.Minute)
	all, err = s.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Errorf("All returned %d sessions, want %d (the expired one left out)", len(all), len(want))
	}
	for tok, data := range want {
		if string(all[tok]) != data {
			t.Errorf("All[token] = %q, want %q", all[tok], data)
		}
	}
	if _, err := open(t, t.TempDir(), clk, scsstore.WithoutIteration()).All(); err == nil {
		t.Error("All succeeded WithoutIteration")
	}
}

func TestWithoutIterationKeepsNoToken(t *testing.T) {
	clk := fakeclock.New()
	dir := t.TempDir()
	s := open(t, dir, clk, scsstore.WithoutIteration())
	tok := newToken(t)
	if err := s.Commit(tok, []byte("data"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, found := mustFind(t, s, tok); !found || string(b) != "data" {
		t.Fatalf("Find = %q, %v", b, found)
	}
	st, _ := fsstore.Open(dir)
	defer st.Close()
	sess, err := st.Load(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sess.Data, []byte(tok)) {
		t.Error("record holds the token")
	}
}

// scs's own usage: scs.New, Store = scsstore.New(st), LoadAndSave, over two
// "servers" that open the same directory separately.
func TestSessionManagerAcrossServers(t *testing.T) {
	dir := t.TempDir()
	clk := fakeclock.New()
	var servers []*httptest.Server
	for i := range 2 {
		sm := scs.New()
		sm.Store = open(t, dir, clk)
		sm.Lifetime = 30 * time.Minute
		mux := http.NewServeMux()
		mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
			n := sm.GetInt(r.Context(), "n") + 1
			sm.Put(r.Context(), "n", n)
			fmt.Fprintf(w, "%d@%d", n, i)
		})
		handleLogInOut(mux, sm)
		srv := httptest.NewServer(sm.LoadAndSave(mux))
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(i int, path string) string {
		t.Helper()
		// The jar keys cookies by host: both servers are 127.0.0.1, so the
		// cookie follows the user from one server to the other.
		resp, err := client.Get(servers[i].URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	for i, want := range []string{"1@0", "2@1", "3@0", "4@1"} {
		if got := get(i%2, "/inc"); got != want {
			t.Fatalf("request %d: %s, want %s", i, got, want)
		}
	}
	get(1, "/login")
	if got := get(0, "/inc"); got != "5@0" {
		t.Errorf("after RenewToken: %s, want data kept", got)
	}
	get(0, "/logout")
	if got := get(1, "/inc"); got != "1@1" {
		t.Errorf("after Destroy: %s, want a fresh session", got)
	}
}

// handleLogInOut serves /login (RenewToken, then a user) and /logout
// (Destroy) through sm.
func handleLogInOut(mux *http.ServeMux, sm *scs.SessionManager) {
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sm.Put(r.Context(), "user", "alice")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
}
