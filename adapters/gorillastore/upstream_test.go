package gorillastore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/internal/fakeclock"
)

// upstreams are gorilla's own stores, for the side-by-side checks below.
func upstreams(t *testing.T) map[string]sessions.Store {
	fs := sessions.NewFilesystemStore(t.TempDir(), key)
	cs := sessions.NewCookieStore(key)
	return map[string]sessions.Store{"FilesystemStore": fs, "CookieStore": cs}
}

// authboss-clientstate's SessionStorer.WriteState (the authboss binding for
// any gorilla store, NewSessionStorerFromExisting) calls
// Store.Save(nil, w, session). gorilla's stores never touch the request in
// Save; gorillastore must not panic on it.
func TestSaveWithoutRequest(t *testing.T) {
	ours, _ := open(t, t.TempDir(), fakeclock.New())
	stores := upstreams(t)
	stores["gorillastore"] = ours
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			sess, err := store.Get(request(nil), "app")
			if err != nil {
				t.Fatal(err)
			}
			sess.Values["user"] = "alice"
			w := httptest.NewRecorder()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Save(nil, w, session) panicked: %v", p)
					}
				}()
				if err := store.Save(nil, w, sess); err != nil {
					t.Fatalf("Save(nil, w, session): %v", err)
				}
			}()
			if len(w.Result().Cookies()) != 1 {
				t.Fatalf("no cookie set")
			}
		})
	}
}

// A stale or foreign cookie (keys rotated, another app's cookie of the same
// name): gorilla's stores return the securecookie error itself, and a
// common pattern ignores it by type assertion:
//
//	if cerr, ok := err.(securecookie.Error); ok && cerr.IsDecode() { /* fresh session */ }
//
// (some code even writes err.(securecookie.Error).IsDecode() unchecked).
// gorillastore wraps it, so that code answers 500 (or panics) on every
// request of that user until the cookie expires.
func TestDecodeErrorIsSecurecookieError(t *testing.T) {
	ours, _ := open(t, t.TempDir(), fakeclock.New())
	stores := upstreams(t)
	stores["gorillastore"] = ours
	stale, err := securecookie.EncodeMulti("app", "whatever", securecookie.CodecsFromPairs([]byte("a retired key, 32 bytes long...."))...)
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			sess, err := store.Get(request(&http.Cookie{Name: "app", Value: stale}), "app")
			if err == nil || sess == nil || !sess.IsNew {
				t.Fatalf("Get = %v, %v; want a new session and an error", sess, err)
			}
			cerr, ok := err.(securecookie.Error)
			if !ok || !cerr.IsDecode() {
				t.Errorf("err %T %q: not a securecookie.Error with IsDecode", err, err)
			}
		})
	}
}
