package scsstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// transition is the store docs/migrating.md describes for moving an scs
// application from another store (redisstore there) without logging its
// users out: Find in sessfs first, then in the old store; Commit to sessfs
// only; Delete from both (deleteOld false: from sessfs only, the mistake
// the document warns of).
type transition struct {
	sessfs    *scsstore.Store
	old       scs.Store
	deleteOld bool
}

func (s transition) Find(token string) ([]byte, bool, error) {
	if b, found, err := s.sessfs.Find(token); found || err != nil {
		return b, found, err
	}
	return s.old.Find(token)
}

func (s transition) Commit(token string, b []byte, expiry time.Time) error {
	return s.sessfs.Commit(token, b, expiry)
}

func (s transition) Delete(token string) error {
	err := s.sessfs.Delete(token)
	if s.deleteOld {
		err = errors.Join(err, s.old.Delete(token))
	}
	return err
}

// migrationApp serves an scs application on store: /login?user= renews
// the token and puts the user, /put?item= puts an item, /logout destroys
// the session, and / answers the user, then the item if there is one.
func migrationApp(t *testing.T, store scs.Store) *httptest.Server {
	t.Helper()
	sm := scs.New()
	sm.Store = store
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", r.URL.Query().Get("user"))
	})
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "item", r.URL.Query().Get("item"))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.TrimSpace(sm.GetString(r.Context(), "user")+" "+sm.GetString(r.Context(), "item")))
	})
	srv := httptest.NewServer(sm.LoadAndSave(mux))
	t.Cleanup(srv.Close)
	return srv
}

// TestTransitionFromAnotherStore: the zero-logout migration of
// docs/migrating.md, with scs's memstore as the store left behind (it
// holds scs's encoding, as redisstore does). A user logged in before the
// switch stays logged in after it, and the session moves to sessfs with
// its first commit. A token that Destroy or RenewToken retired after the
// switch stays retired only when Delete reaches the old store too:
// otherwise the fallback brings it back.
func TestTransitionFromAnotherStore(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deleteOld bool
	}{
		{"Delete from both", true},
		{"Delete from sessfs only", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := memstore.NewWithCleanupInterval(0)
			before := migrationApp(t, old)
			_, beforeSwitch := getUser(t, before, "/login?user=alice", nil)
			_, retiredAtLogin := getUser(t, before, "/login?user=bob", nil)
			if beforeSwitch == nil || retiredAtLogin == nil {
				t.Fatal("no session cookie before the switch")
			}

			st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			ours := scsstore.New(st)
			after := migrationApp(t, transition{sessfs: ours, old: old, deleteOld: tc.deleteOld})

			if user, _ := getUser(t, after, "/", beforeSwitch); user != "alice" {
				t.Fatalf("after the switch: user %q, want alice, still logged in", user)
			}
			// A log in after the switch: RenewToken retires the token
			// the old store knows; the session moves to sessfs.
			_, renewed := getUser(t, after, "/login?user=bob", retiredAtLogin)
			if renewed == nil || renewed.Value == retiredAtLogin.Value {
				t.Fatal("log in: no new token")
			}
			if _, found, err := ours.Find(renewed.Value); !found || err != nil {
				t.Fatalf("the renewed session is not in sessfs: found %v, err %v", found, err)
			}
			if user, _ := getUser(t, after, "/", renewed); user != "bob" {
				t.Errorf("after the log in: user %q, want bob", user)
			}
			// A log out after the switch, of a session the old store holds.
			getUser(t, after, "/logout", beforeSwitch)

			// What a retired token reads: nothing, or its user back.
			retired := func(user string) string {
				if tc.deleteOld {
					return ""
				}
				return user
			}
			if user, _ := getUser(t, after, "/", beforeSwitch); user != retired("alice") {
				t.Errorf("the logged-out token: user %q, want %q", user, retired("alice"))
			}
			if user, _ := getUser(t, after, "/", retiredAtLogin); user != retired("bob") {
				t.Errorf("the token retired at log in: user %q, want %q", user, retired("bob"))
			}
		})
	}
}
