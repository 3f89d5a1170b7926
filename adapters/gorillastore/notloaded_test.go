package gorillastore_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// loggedIn saves a session for alice and returns the store, the fsstore
// beneath it, its directory, the cookie and the session's ID.
func loggedIn(t *testing.T) (*gorillastore.Store, *fsstore.Store, string, *http.Cookie, string) {
	t.Helper()
	dir := t.TempDir()
	s, st := open(t, dir, fakeclock.New())
	first, err := s.New(request(nil), "app")
	if err != nil {
		t.Fatal(err)
	}
	first.Values["user"] = "alice"
	w := httptest.NewRecorder()
	if err := first.Save(request(nil), w); err != nil {
		t.Fatal(err)
	}
	return s, st, dir, cookieOf(t, w, "app"), first.ID
}

// ended is a context whose deadline has passed: the store fails every
// call made with it, as it fails them in an outage
// (fsstore.ErrUnavailable). One merely canceled, as net/http cancels a
// request's when its client hangs up, fails none (see hungUp).
func ended() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	cancel() // the deadline's error stays
	return ctx
}

// hungUp is the context of a request whose client hung up.
func hungUp() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// A session the store failed to read comes back with IsNew set and
// without its values, with the error. An application that ignores the
// error and saves it once the store answers again must not replace the
// user's session and cookie; its logout and its cleared values still act
// on the user's session.
func TestSessionNotLoadedIsNotReplaced(t *testing.T) {
	for _, tc := range []struct {
		name string
		// act is what the application does with the session it got, on a
		// request whose context is live (the store answers again) unless
		// it uses another.
		act func(t *testing.T, s *gorillastore.Store, st *fsstore.Store, c *http.Cookie, id string, sess *sessions.Session)
	}{
		{"save", func(t *testing.T, s *gorillastore.Store, st *fsstore.Store, c *http.Cookie, id string, sess *sessions.Session) {
			sess.Values["visits"] = 1
			w := httptest.NewRecorder()
			if err := s.Save(request(c), w, sess); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Save: err %v; want a refusal wrapping Get's error", err)
			}
			if got := w.Result().Cookies(); len(got) != 0 {
				t.Fatalf("Save set cookies %v; the user's cookie must stay", got)
			}
			wantUser(t, s, c, "alice")
		}},
		{"logout", func(t *testing.T, s *gorillastore.Store, st *fsstore.Store, c *http.Cookie, id string, sess *sessions.Session) {
			sess.Options.MaxAge = -1
			w := httptest.NewRecorder()
			if err := s.Save(request(c), w, sess); err != nil {
				t.Fatalf("logout: %v", err)
			}
			if c := cookieOf(t, w, "app"); c.MaxAge >= 0 {
				t.Fatalf("logout cookie MaxAge %d; want it expired", c.MaxAge)
			}
			if _, err := st.Load(context.Background(), id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Fatalf("after the logout, the stored session: %v; want ErrNotFound", err)
			}
		}},
		{"logout while the store still fails", func(t *testing.T, s *gorillastore.Store, st *fsstore.Store, c *http.Cookie, id string, sess *sessions.Session) {
			sess.Options.MaxAge = -1
			w := httptest.NewRecorder()
			if err := s.Save(request(c).WithContext(ended()), w, sess); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("logout: err %v; want the delete's error", err)
			}
			if c := cookieOf(t, w, "app"); c.MaxAge >= 0 {
				t.Fatalf("logout cookie MaxAge %d; want it expired even so", c.MaxAge)
			}
		}},
		{"values cleared", func(t *testing.T, s *gorillastore.Store, st *fsstore.Store, c *http.Cookie, id string, sess *sessions.Session) {
			clear(sess.Values)
			sess.Values["user"] = "bob"
			w := httptest.NewRecorder()
			if err := s.Save(request(c), w, sess); err != nil {
				t.Fatalf("Save of cleared values: %v", err)
			}
			if sess.ID != id {
				t.Fatalf("cleared values saved under ID %q; want the user's %q, or the old values stay usable", sess.ID, id)
			}
			wantUser(t, s, c, "bob")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st, _, cookie, id := loggedIn(t)
			sess, err := s.Get(request(cookie).WithContext(ended()), "app")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Get with the store failing: err %v, want context.DeadlineExceeded", err)
			}
			if !sess.IsNew || sess.Values["user"] != nil {
				t.Fatalf("Get with the store failing returned IsNew %v, values %v; want a new session without values", sess.IsNew, sess.Values)
			}
			tc.act(t, s, st, cookie, id, sess)
		})
	}
}

// A damaged or refused record is no session, as a missing one: Get
// returns a new session without an error (the store logs the record and
// reports it to its Observer). With the error, a handler that returns it,
// as echo-contrib's do, would answer 500 on every request of the user
// until the cookie expired, never saving the session that replaces it.
// Stored values that fail authentication, which the store cannot see, are
// no session with the error. Saving the new session starts the user
// afresh, under a new ID.
func TestSessionDamagedStartsAfresh(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, st *fsstore.Store, id, record string)
		wantErr bool
	}{
		{"corrupt", func(t *testing.T, _ *fsstore.Store, _, record string) {
			if err := os.WriteFile(record, []byte("not a session record"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"truncated", func(t *testing.T, _ *fsstore.Store, _, record string) {
			if err := os.Truncate(record, 70); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"symlink", func(t *testing.T, _ *fsstore.Store, _, record string) {
			if err := os.Remove(record); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), record); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
		}, false},
		{"values of other keys", func(t *testing.T, st *fsstore.Store, id, _ string) {
			if err := st.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("not values these keys signed")}); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st, dir, cookie, id := loggedIn(t)
			tc.damage(t, st, id, recordFile(t, dir))
			sess, err := s.Get(request(cookie), "app")
			if (err != nil) != tc.wantErr {
				t.Fatalf("Get of the damaged record: error %v, want an error %v", err, tc.wantErr)
			}
			if !sess.IsNew || len(sess.Values) != 0 {
				t.Fatalf("Get of the damaged record: IsNew %v, values %v; want a new, empty session", sess.IsNew, sess.Values)
			}
			sess.Values["user"] = "alice"
			w := httptest.NewRecorder()
			if err := s.Save(request(cookie), w, sess); err != nil {
				t.Fatalf("Save after a damaged record: %v; want a new session", err)
			}
			if sess.ID == "" || sess.ID == id {
				t.Fatalf("saved under ID %q; want a new one", sess.ID)
			}
			wantUser(t, s, cookieOf(t, w, "app"), "alice")
		})
	}
}

// recordFile returns the one session record under the store directory.
func recordFile(t *testing.T, dir string) string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			found = append(found, p)
		}
		return err
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("records under %s: %v (%v); want one", dir, found, err)
	}
	return found[0]
}

func wantUser(t *testing.T, s *gorillastore.Store, c *http.Cookie, want string) {
	t.Helper()
	sess, err := s.New(request(c), "app")
	if err != nil || sess.IsNew || sess.Values["user"] != want {
		t.Fatalf("the user's session: IsNew %v, values %v, err %v; want user %q", sess.IsNew, sess.Values, err, want)
	}
}
