package gorillastore_test

import (
	"net/http"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/internal/fakeclock"
)

// An application switching from CookieStore with the same keys, the
// one-line switch docs/frameworks.md shows for echo-contrib/session: its
// users' cookies, signed with those keys, hold CookieStore's values rather
// than an ID. Such a cookie is the application's own, not a forged or
// stale one: Get returns a new session without an error, as for a validly
// signed unknown ID, and the next Save replaces the cookie. With the error,
// a handler that returns it (echo-contrib's usage, and this repository's
// echo example) answered 500 on every request of every user until the old
// cookie expired, since no Save ever replaced it.
func TestSwitchFromCookieStore(t *testing.T) {
	oldStore := sessions.NewCookieStore(key)
	plainHTTP(oldStore.Options)
	oldApp := echoCounterApp(oldStore, nil)
	ours, _ := open(t, t.TempDir(), fakeclock.New())
	plainHTTP(ours.Options)
	newApp := echoCounterApp(ours, nil)

	code, body, old := postInc(oldApp, nil)
	if code != http.StatusOK || body != "1" || old == nil {
		t.Fatalf("CookieStore app: %d %q, cookie %v", code, body, old)
	}
	// The same cookie after the switch: a fresh session.
	code, body, fresh := postInc(newApp, old)
	if code != http.StatusOK || body != "1" {
		t.Fatalf("after the switch, the CookieStore cookie: %d %q; want 200 and a fresh session", code, body)
	}
	if fresh == nil || fresh.Value == old.Value {
		t.Fatalf("after the switch, cookie %v; want a new one", fresh)
	}
	if code, body, _ := postInc(newApp, fresh); code != http.StatusOK || body != "2" {
		t.Fatalf("next request: %d %q; want 2", code, body)
	}

	// Not the application's own: still the securecookie error.
	foreign := sessions.NewCookieStore([]byte("another application's key, 32 b"))
	sess := sessions.NewSession(foreign, "app")
	sess.Values["n"] = 1
	enc, err := securecookie.EncodeMulti("app", sess.Values, foreign.Codecs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ours.New(request(&http.Cookie{Name: "app", Value: enc}), "app"); err == nil {
		t.Error("a CookieStore cookie under another key: no error")
	} else if cerr, ok := err.(securecookie.Error); !ok || !cerr.IsDecode() {
		t.Errorf("a CookieStore cookie under another key: %T %v; want a securecookie decode error", err, err)
	}
	// Not even base64: the securecookie error too.
	if _, err := ours.New(request(&http.Cookie{Name: "app", Value: "not base64!"}), "app"); err == nil {
		t.Error("a cookie that is not base64: no error")
	}
}

// TestSwitchFromCookieStoreValuesNotDecodable: the old application's
// cookie may hold values that this binary cannot decode at all: a type it
// no longer registers with gob (renamed, or gone), or another serializer.
// Signed with the store's keys, it is still the application's own cookie:
// a new session, no error.
func TestSwitchFromCookieStoreValuesNotDecodable(t *testing.T) {
	ours, _ := open(t, t.TempDir(), fakeclock.New())
	// The values as JSON stand for any content gob cannot read here.
	old := securecookie.New(key, nil).SetSerializer(securecookie.JSONEncoder{})
	enc, err := old.Encode("app", map[string]any{"flash": map[string]string{"kind": "info"}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ours.New(request(&http.Cookie{Name: "app", Value: enc}), "app")
	if err != nil || !sess.IsNew {
		t.Fatalf("an old cookie signed with the store's key, values not decodable: new %v, %v; want a new session and no error", sess.IsNew, err)
	}
}
