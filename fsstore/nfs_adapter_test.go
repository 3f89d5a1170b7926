//go:build unix

package fsstore_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// What an adopter of scs does: an app server per host with its own
// scs.SessionManager on scsstore, one store on the shared export, and no
// sticky load balancing. A user's session started on hostA continues on
// hostB and back, each host seeing the other's last write, and a logout
// on hostB ends it on hostA too.

// scsApp serves /inc (increment the session's counter, answer it) and
// /logout (destroy the session) from the store on the export.
func scsApp(t *testing.T) (*httptest.Server, *scsstore.Store) {
	t.Helper()
	st := scsstore.New(openNFSStore(t))
	sm := scs.New()
	sm.Store = st
	sm.Lifetime = time.Hour
	mux := http.NewServeMux()
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		io.WriteString(w, strconv.Itoa(n))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(sm.LoadAndSave(mux))
	t.Cleanup(srv.Close)
	return srv, st
}

// scsGet requests path with the session cookie token ("" for none) and
// returns the body and the token the answer sets ("" if it sets none).
func scsGet(t *testing.T, srv *httptest.Server, path, token string) (body, set string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %q, %v", path, resp.StatusCode, b, err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			set = c.Value
		}
	}
	return string(b), set
}

func scsTokenFile(t *testing.T) string { return filepath.Join(nfstest.Dir(t), "token") }

func nfsSCSA(t *testing.T) {
	srv, _ := scsApp(t)
	n, token := scsGet(t, srv, "/inc", "")
	if n != "1" || token == "" {
		t.Fatalf("first request: %q, token %q", n, token)
	}
	tmp := scsTokenFile(t) + ".tmp"
	if err := os.WriteFile(tmp, []byte(token), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, scsTokenFile(t)); err != nil {
		t.Fatal(err)
	}
	nfsSignal(t, "started")
	nfsWaitSig(t, "continued", nfsWait)
	if n, _ := scsGet(t, srv, "/inc", token); n != "3" {
		t.Errorf("back on hostA after hostB's request: counter %s, want 3", n)
	}
	nfsSignal(t, "back")
	nfsWaitSig(t, "logged-out", nfsWait)
	n, fresh := scsGet(t, srv, "/inc", token)
	if n != "1" || fresh == "" || fresh == token {
		t.Errorf("on hostA after the logout on hostB: counter %s, token renewed %v; want a fresh session", n, fresh != token)
	}
}

func nfsSCSB(t *testing.T) {
	srv, st := scsApp(t)
	nfsWaitSig(t, "started", nfsWait)
	if err := nfstest.WaitFile(nfsCtx(t, nfsWait), scsTokenFile(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(scsTokenFile(t))
	if err != nil {
		t.Fatal(err)
	}
	token := string(b)
	if n, _ := scsGet(t, srv, "/inc", token); n != "2" {
		t.Errorf("on hostB, the session started on hostA: counter %s, want 2", n)
	}
	nfsSignal(t, "continued")
	nfsWaitSig(t, "back", nfsWait)
	scsGet(t, srv, "/logout", token)
	if _, found, err := st.Find(token); found || err != nil {
		t.Errorf("Find after the logout: found %v, %v", found, err)
	}
	nfsSignal(t, "logged-out")
}
