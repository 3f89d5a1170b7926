package httpsession_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestDamagedRecordStartsFreshSession: a record left empty, cut short or
// zero-filled (what a power loss leaves of a file whose data never reached
// the disk) or otherwise damaged is no session: the request is served, the
// user starts a fresh session under a new ID, and the damage is logged once
// (without the ID) and counted by the store's Observer. Never a 500.
func TestDamagedRecordStartsFreshSession(t *testing.T) {
	damages := []struct {
		name string
		do   func(b []byte) []byte
	}{
		{"zero-length", func(b []byte) []byte { return nil }},
		{"header cut short", func(b []byte) []byte { return b[:10] }},
		{"payload cut short", func(b []byte) []byte { return b[:len(b)-3] }},
		{"zero-filled", func(b []byte) []byte { return make([]byte, len(b)) }},
		{"zero-filled tail", func(b []byte) []byte {
			c := append([]byte(nil), b...)
			clear(c[len(c)/2:])
			return c
		}},
		{"bit flipped in payload", func(b []byte) []byte {
			c := append([]byte(nil), b...)
			c[len(c)-2] ^= 0x10
			return c
		}},
	}
	modes := []httpsession.Mode{httpsession.Exclusive, httpsession.ReadOnly, httpsession.Optimistic}
	for _, dmg := range damages {
		for _, mode := range modes {
			t.Run(dmg.name+"/"+mode.String(), func(t *testing.T) {
				obs := &outcomes{}
				e := newEnv(t, []fsstore.Option{fsstore.WithObserver(obs)})
				id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				path := recordPath(e.st, id)
				rec, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, dmg.do(rec), 0o600); err != nil {
					t.Fatal(err)
				}
				e.log.Reset()

				h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					n, fresh := s.GetInt("n"), s.IsNew()
					if mode != httpsession.ReadOnly {
						n++
						if err := s.Put("n", n); err != nil {
							http.Error(w, err.Error(), http.StatusInternalServerError)
							return
						}
					}
					fmt.Fprint(w, n, fresh)
				}))
				resp := do(t, h, id)
				want := "1 true"
				if mode == httpsession.ReadOnly {
					want = "0 true"
				}
				if got := body(t, resp); resp.StatusCode != http.StatusOK || got != want {
					t.Fatalf("status %d, body %q: want 200 and %q, a fresh session", resp.StatusCode, got, want)
				}
				c := sessionCookie(resp)
				switch {
				case mode == httpsession.ReadOnly && (c == nil || c.MaxAge >= 0):
					t.Errorf("cookie %v: want the dead cookie expired", c)
				case mode != httpsession.ReadOnly && (c == nil || c.Value == id || c.MaxAge < 0):
					t.Errorf("cookie %v: want a new session under a new ID", c)
				}
				logs := e.log.String()
				if n := strings.Count(logs, "level="); n != 1 || !strings.Contains(logs, "damaged session record") || strings.Contains(logs, id) {
					t.Errorf("log %q: want one line about the damaged record, without the session ID", logs)
				}
				if n := obs.count(fsstore.OpLoad, fsstore.OutcomeCorrupt); n != 1 {
					t.Errorf("observer saw %v: want one load with outcome corrupt", obs.seen())
				}
				if mode != httpsession.ReadOnly {
					if got := body(t, do(t, h, c.Value)); got != "2 false" {
						t.Errorf("next request on the fresh session: %q, want \"2 false\"", got)
					}
				}
			})
		}
	}
}

// TestForeignPayloadStartsFreshSession: a sound record whose payload is not
// a JSON object (another application's encoding under the same store) is
// not this package's session either: a fresh one, logged once, not a 500.
// The line says what to do, as the likely cause is another application or
// adapter on the store under the same cookie name (scs's default is
// "session" too), which logs each of its users out in turn: it names the
// cookie and the fix, where it said only "not a JSON object".
func TestForeignPayloadStartsFreshSession(t *testing.T) {
	payloads := []string{"\x00\x01gob", `[1,2]`, `{"n":1`, "{\"n\":1,\"s\":\"\x01\"}", " "}
	for _, p := range payloads {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.ReadOnly} {
			t.Run(fmt.Sprintf("%q/%v", p, mode), func(t *testing.T) {
				e := newEnv(t, nil)
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				if err := e.st.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte(p)}); err != nil {
					t.Fatal(err)
				}
				h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					fmt.Fprint(w, s.GetInt("n"), s.IsNew())
				}))
				resp := do(t, h, id)
				if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "0 true" {
					t.Fatalf("status %d, body %q: want 200 and a fresh session", resp.StatusCode, got)
				}
				logs := e.log.String()
				if n := strings.Count(logs, "level="); n != 1 || !strings.Contains(logs, "not a JSON object") || strings.Contains(logs, id) {
					t.Errorf("log %q: want one line about the payload, without the session ID", logs)
				}
				for _, want := range []string{"cookie=session", "give each its own store directory or cookie name"} {
					if !strings.Contains(logs, want) {
						t.Errorf("log %q: want it to contain %q", logs, want)
					}
				}
			})
		}
	}
}

// TestRefusedRecordStartsFreshSession: a record the store refuses (a
// symbolic link at its name; a file this process may not read) fails the
// same way on every request until an operator fixes it, so it is no
// session, as a damaged one is: the request is served, the dead cookie is
// cleared or replaced, and the refusal is logged without the ID. The link
// and its target are left alone.
func TestRefusedRecordStartsFreshSession(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.ReadOnly, httpsession.Optimistic} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			path := recordPath(e.st, id)
			target := path + ".elsewhere"
			if err := os.Rename(path, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Skip(err)
			}
			e.log.Reset()
			h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				n := s.GetInt("n")
				if mode != httpsession.ReadOnly {
					if err := s.Put("n", n+1); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
				}
				fmt.Fprint(w, n, s.IsNew())
			}))
			resp := do(t, h, id)
			if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "0 true" {
				t.Fatalf("status %d, body %q: want 200 and a fresh session", resp.StatusCode, got)
			}
			c := sessionCookie(resp)
			switch {
			case mode == httpsession.ReadOnly && (c == nil || c.MaxAge >= 0):
				t.Errorf("cookie %v: want the dead cookie expired", c)
			case mode != httpsession.ReadOnly && (c == nil || c.Value == id || c.MaxAge < 0):
				t.Errorf("cookie %v: want a new session under a new ID", c)
			}
			if logs := e.log.String(); !strings.Contains(logs, "refused") || strings.Contains(logs, id) {
				t.Errorf("log %q: want a line about the refused record, without the session ID", logs)
			}
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link at the record's name: %v, %v; want it left alone", fi, err)
			}
		})
	}
}
