package gorillastore_test

import (
	"bytes"
	"encoding/gob"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/forge"
)

// saveRole saves a new session with Values["role"] = role through store and
// returns the session's cookie and ID.
func saveRole(t *testing.T, store sessions.Store, role string) (*http.Cookie, string) {
	t.Helper()
	req := request(nil)
	sess, err := store.New(req, "sid")
	if err != nil {
		t.Fatal(err)
	}
	sess.Values["role"] = role
	w := httptest.NewRecorder()
	if err := store.Save(req, w, sess); err != nil {
		t.Fatal(err)
	}
	return cookieOf(t, w, "sid"), sess.ID
}

// roleOf loads the session named by cookie and returns its role and New's
// error.
func roleOf(t *testing.T, store sessions.Store, c *http.Cookie) (string, error) {
	t.Helper()
	sess, err := store.New(request(c), "sid")
	if sess == nil {
		t.Fatal("New returned no session")
	}
	role, _ := sess.Values["role"].(string)
	return role, err
}

func gobValues(t *testing.T, v map[any]any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTamperedValues plays an attacker who can write the session
// directory but has none of the app's keys, against gorillastore and, for
// comparison, against gorilla's own FilesystemStore, which gorillastore
// replaces. The attacker edits the victim's stored values to role=admin,
// or copies the stored values of an admin's session over their own
// session. Neither may give the attacker's cookie the admin role through
// gorillastore. FilesystemStore refuses the edit but accepts the copy (its
// signature does not cover the session ID); the test records that too.
func TestTamperedValues(t *testing.T) {
	type attack func(t *testing.T, dir, victim, admin string) // store directory, IDs
	for _, tc := range []struct {
		name string
		// gorillastore and FilesystemStore versions of the attack.
		fsstore, gorilla attack
		// gorillaAccepts: FilesystemStore serves the attacker's values.
		gorillaAccepts bool
	}{
		{
			name: "values rewritten in clear",
			fsstore: func(t *testing.T, dir, victim, _ string) {
				if _, err := forge.Write(dir, forge.Record{ID: victim, Payload: gobValues(t, map[any]any{"role": "admin"}),
					Deadline: time.Now().Add(time.Hour), Idle: time.Hour, Version: 2}); err != nil {
					t.Fatal(err)
				}
			},
			gorilla: func(t *testing.T, dir, victim, _ string) {
				p := filepath.Join(dir, "session_"+victim)
				if err := os.WriteFile(p, gobValues(t, map[any]any{"role": "admin"}), 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "one bit flipped in the stored values",
			fsstore: func(t *testing.T, dir, victim, _ string) {
				st := openPlain(t, dir)
				rec, err := st.Load(t.Context(), victim)
				if err != nil {
					t.Fatal(err)
				}
				rec.Data[len(rec.Data)/2] ^= 1
				if _, err := forge.Write(dir, forge.Record{ID: victim, Payload: rec.Data,
					Deadline: time.Now().Add(time.Hour), Idle: time.Hour, Version: 2}); err != nil {
					t.Fatal(err)
				}
			},
			gorilla: func(t *testing.T, dir, victim, _ string) {
				p := filepath.Join(dir, "session_"+victim)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 1
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "admin's stored values copied over the attacker's session",
			fsstore: func(t *testing.T, dir, victim, admin string) {
				st := openPlain(t, dir)
				rec, err := st.Load(t.Context(), admin)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := forge.Write(dir, forge.Record{ID: victim, Payload: rec.Data,
					Deadline: time.Now().Add(time.Hour), Idle: time.Hour, Version: 2}); err != nil {
					t.Fatal(err)
				}
			},
			gorilla: func(t *testing.T, dir, victim, admin string) {
				b, err := os.ReadFile(filepath.Join(dir, "session_"+admin))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "session_"+victim), b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			gorillaAccepts: true,
		},
	} {
		t.Run("gorillastore/"+tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			store := gorillastore.New(st, key)
			c, victim := saveRole(t, store, "user")
			_, admin := saveRole(t, store, "admin")
			tc.fsstore(t, dir, victim, admin)
			role, err := roleOf(t, store, c)
			if role == "admin" {
				t.Fatalf("gorillastore served the forged values: role=admin (err %v)", err)
			}
			if err == nil || role != "" {
				t.Fatalf("gorillastore: role %q, error %v; want a new session and an error, as FilesystemStore does", role, err)
			}
		})
		t.Run("FilesystemStore/"+tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store := sessions.NewFilesystemStore(dir, key)
			c, victim := saveRole(t, store, "user")
			_, admin := saveRole(t, store, "admin")
			tc.gorilla(t, dir, victim, admin)
			role, err := roleOf(t, store, c)
			if tc.gorillaAccepts {
				if role != "admin" || err != nil {
					t.Fatalf("FilesystemStore: role %q, error %v; expected it to accept the copied file", role, err)
				}
				return
			}
			if role == "admin" || err == nil {
				t.Fatalf("FilesystemStore: role %q, error %v; expected it to refuse the edited file", role, err)
			}
		})
	}
}

// openPlain opens the store under test a second time, as the attacker's
// own keyless process would, to read records.
func openPlain(t *testing.T, dir string) *fsstore.Store {
	t.Helper()
	st, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRetiredKeyIsNoSession: a session whose record is sealed with an
// fsstore key that is no longer configured comes back as a new session
// without an error (which apps commonly turn into a 500 on every request).
func TestRetiredKeyIsNoSession(t *testing.T) {
	dir := t.TempDir()
	k1, _ := fsstore.NewKey(1)
	k2, _ := fsstore.NewKey(2)
	old, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := saveRole(t, gorillastore.New(old, key), "user")
	old.Close()
	st, err := fsstore.Open(dir, fsstore.WithKeys(k2))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sess, err := gorillastore.New(st, key).New(request(c), "sid")
	if err != nil || !sess.IsNew || len(sess.Values) != 0 {
		t.Fatalf("session under a retired key: new %v, values %v, err %v; want a new empty session, no error", sess.IsNew, sess.Values, err)
	}
}
