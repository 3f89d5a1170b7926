package httpsession_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/forge"
)

// TestForgedRecordOverHTTP plays an attacker who can write the mount but
// holds no key, against a server whose store is encrypted: a cleartext
// record {"user":"admin"} written over a victim's encrypted session, or
// under an ID the attacker picks and sends as a cookie, must never reach
// the handler as that user.
func TestForgedRecordOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		name string
		over bool // forge over the victim's session rather than a new ID
	}{
		{name: "over an encrypted session", over: true},
		{name: "new ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key, err := fsstore.NewKey(1)
			if err != nil {
				t.Fatal(err)
			}
			st, err := fsstore.Open(dir, fsstore.WithKeys(key))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			m := httpsession.New(st, httpsession.WithCookie(httpsession.DefaultCookie()))
			mux := http.NewServeMux()
			mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
				httpsession.FromContext(r.Context()).Put("user", "alice")
			})
			mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "user="+httpsession.FromContext(r.Context()).GetString("user"))
			})
			srv := httptest.NewTLSServer(m.Handler(mux))
			defer srv.Close()
			client := srv.Client()

			get := func(path, cookie string) (*http.Response, string) {
				t.Helper()
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if cookie != "" {
					req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}

			id, err := fsstore.NewID()
			if err != nil {
				t.Fatal(err)
			}
			if tc.over {
				resp, _ := get("/login", "")
				id = ""
				for _, c := range resp.Cookies() {
					if c.Name == "session" {
						id = c.Value
					}
				}
				if id == "" {
					t.Fatal("login set no session cookie")
				}
				if _, body := get("/me", id); body != "user=alice" {
					t.Fatalf("victim's session before the attack: %q", body)
				}
			}
			if _, err := forge.Write(dir, forge.Record{ID: id, Payload: []byte(`{"user":"admin"}`), Version: 7}); err != nil {
				t.Fatal(err)
			}
			resp, body := get("/me", id)
			if body == "user=admin" {
				t.Fatalf("forged cleartext record served: %d %q", resp.StatusCode, body)
			}
			if resp.StatusCode != http.StatusOK || body != "user=" {
				t.Fatalf("got %d %q, want 200 and a fresh, empty session", resp.StatusCode, body)
			}
		})
	}
}
