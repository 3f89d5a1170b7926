package gorillastore_test

import (
	"encoding/gob"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
)

var _ sessions.Store = (*gorillastore.Store)(nil)

type FlashMessage struct {
	Type    int
	Message string
}

func init() { gob.Register(&FlashMessage{}) }

var key = []byte("0123456789abcdef0123456789abcdef")

func open(t *testing.T, dir string, clk *fakeclock.Clock) (*gorillastore.Store, *fsstore.Store) {
	t.Helper()
	st, err := fsstore.Open(dir, fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := gorillastore.New(st, key)
	s.SetClock(clk.Now)
	return s, st
}

func request(cookie *http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", "http://www.example.com/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return req
}

func cookieOf(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, w.Header())
	return nil
}

// gorilla's GH-8 check: a session's options are a copy of the store's.
func TestOptionsAreCopied(t *testing.T) {
	s, _ := open(t, t.TempDir(), fakeclock.New())
	s.Options.Path = "/"
	session, err := s.New(request(nil), "hello")
	if err != nil {
		t.Fatal(err)
	}
	s.Options.Path = "/foo"
	if session.Options.Path != "/" {
		t.Errorf("session path %q changed with the store's", session.Options.Path)
	}
}

func TestDefaultOptions(t *testing.T) {
	s, _ := open(t, t.TempDir(), fakeclock.New())
	session, _ := s.New(request(nil), "hello")
	session.Values["x"] = 1
	w := httptest.NewRecorder()
	if err := session.Save(request(nil), w); err != nil {
		t.Fatal(err)
	}
	c := cookieOf(t, w, "hello")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 86400*30 {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age 30 days", c)
	}
}

// The flow of gorilla's TestFlashes, against our store, with the second
// and third rounds on another "server" opening the same directory.
func TestRoundTripAcrossServers(t *testing.T) {
	dir, clk := t.TempDir(), fakeclock.New()
	a, st := open(t, dir, clk)
	b, _ := open(t, dir, clk)

	req := request(nil)
	session, err := a.Get(req, "session-key")
	if err != nil {
		t.Fatal(err)
	}
	if !session.IsNew || len(session.Flashes()) != 0 {
		t.Fatal("a fresh session is not new and empty")
	}
	session.AddFlash("foo")
	session.AddFlash("bar")
	session.AddFlash(&FlashMessage{42, "baz"}, "custom_key")
	session.Values["user"] = "alice"
	w := httptest.NewRecorder()
	if err := sessions.Save(req, w); err != nil {
		t.Fatal(err)
	}
	c := cookieOf(t, w, "session-key")
	if strings.Contains(c.Value, session.ID) {
		t.Error("cookie carries the ID in clear")
	}
	if err := fsstore.ValidID(session.ID); err != nil {
		t.Errorf("session ID: %v", err)
	}
	if _, err := st.Load(t.Context(), session.ID); err != nil {
		t.Errorf("record: %v", err)
	}

	req = request(c)
	session, err = b.Get(req, "session-key")
	if err != nil {
		t.Fatal(err)
	}
	if session.IsNew {
		t.Error("stored session reported new")
	}
	if f := session.Flashes(); len(f) != 2 || f[0] != "foo" || f[1] != "bar" {
		t.Errorf("flashes %v", f)
	}
	if f := session.Flashes("custom_key"); len(f) != 1 || *f[0].(*FlashMessage) != (FlashMessage{42, "baz"}) {
		t.Errorf("custom flashes %v", f)
	}
	if session.Values["user"] != "alice" {
		t.Errorf("user = %v", session.Values["user"])
	}
	w = httptest.NewRecorder()
	if err := session.Save(req, w); err != nil {
		t.Fatal(err)
	}

	session, _ = a.New(request(cookieOf(t, w, "session-key")), "session-key")
	if f := session.Flashes(); len(f) != 0 {
		t.Errorf("flashes not consumed: %v", f)
	}
}

func TestDelete(t *testing.T) {
	for _, maxAge := range []int{-1, 0} {
		s, st := open(t, t.TempDir(), fakeclock.New())
		req := request(nil)
		session, _ := s.New(req, "hello")
		session.Values["x"] = 1
		if err := session.Save(req, httptest.NewRecorder()); err != nil {
			t.Fatal(err)
		}
		id := session.ID
		session.Options.MaxAge = maxAge
		w := httptest.NewRecorder()
		if err := session.Save(req, w); err != nil {
			t.Fatalf("MaxAge %d: %v", maxAge, err)
		}
		if _, err := st.Load(t.Context(), id); err == nil {
			t.Errorf("MaxAge %d: record still there", maxAge)
		}
		if c := cookieOf(t, w, "hello"); c.Value != "" {
			t.Errorf("MaxAge %d: cookie not cleared", maxAge)
		}
	}
}

// TestKeepZeroMaxAge: with KeepZeroMaxAge, MaxAge 0 is CookieStore's
// browser-session cookie (no Max-Age, no Expires) for a record kept the
// store's idle timeout (an hour in open) after its last Save; a negative
// MaxAge still deletes.
func TestKeepZeroMaxAge(t *testing.T) {
	tests := []struct {
		maxAge int
		kept   bool
	}{
		{0, true},
		{-1, false},
	}
	for _, tt := range tests {
		clk := fakeclock.New()
		s, st := open(t, t.TempDir(), clk)
		s.KeepZeroMaxAge = true
		req := request(nil)
		session, _ := s.New(req, "hello")
		session.Values["x"] = 1
		if err := session.Save(req, httptest.NewRecorder()); err != nil {
			t.Fatal(err)
		}
		session.Options.MaxAge = tt.maxAge
		w := httptest.NewRecorder()
		if err := session.Save(req, w); err != nil {
			t.Fatalf("MaxAge %d: %v", tt.maxAge, err)
		}
		c := cookieOf(t, w, "hello")
		rec, err := st.Load(t.Context(), session.ID)
		if !tt.kept {
			if err == nil || c.Value != "" {
				t.Errorf("MaxAge %d: record or cookie kept", tt.maxAge)
			}
			continue
		}
		if err != nil {
			t.Fatalf("MaxAge %d: %v", tt.maxAge, err)
		}
		if c.Value == "" || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("MaxAge %d: cookie %q, want a browser-session cookie", tt.maxAge, w.Header().Get("Set-Cookie"))
		}
		if rec.Idle != time.Hour {
			t.Errorf("MaxAge %d: record idle timeout %v, want the store's hour", tt.maxAge, rec.Idle)
		}
	}
}

func TestExpiry(t *testing.T) {
	clk := fakeclock.New()
	s, _ := open(t, t.TempDir(), clk)
	req := request(nil)
	session, _ := s.New(req, "hello")
	session.Options.MaxAge = 60
	session.Values["x"] = 1
	w := httptest.NewRecorder()
	if err := session.Save(req, w); err != nil {
		t.Fatal(err)
	}
	c := cookieOf(t, w, "hello")
	clk.Advance(61 * time.Second)
	session, err := s.New(request(c), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if !session.IsNew || len(session.Values) != 0 {
		t.Error("expired session loaded")
	}
}

func TestBadCookies(t *testing.T) {
	s, st := open(t, t.TempDir(), fakeclock.New())
	unknown, _ := fsstore.NewID()
	signed, err := securecookie.EncodeMulti("hello", unknown, s.Codecs...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		value   string
		wantErr bool
	}{
		{"tampered", "not-a-signed-value", true},
		{"signed with another key", mustEncode(t, unknown, securecookie.CodecsFromPairs([]byte("other key"))...), true},
		{"validly signed unknown ID", signed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(&http.Cookie{Name: "hello", Value: tt.value})
			session, err := s.New(req, "hello")
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if !session.IsNew || session.ID != "" {
				t.Fatal("cookie adopted")
			}
			session.Values["x"] = 1
			if err := session.Save(req, httptest.NewRecorder()); err != nil {
				t.Fatal(err)
			}
			if session.ID == unknown {
				t.Error("Save adopted the cookie's ID")
			}
		})
	}
	if _, err := st.Load(t.Context(), unknown); err == nil {
		t.Error("a record exists under the planted ID")
	}
}

func mustEncode(t *testing.T, v string, codecs ...securecookie.Codec) string {
	t.Helper()
	s, err := securecookie.EncodeMulti("hello", v, codecs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A MaxAge of centuries ("never expire") is capped like any MaxAge above
// the store's limits; it used to wrap around to a negative idle timeout,
// and every save failed.
func TestHugeMaxAgeIsCapped(t *testing.T) {
	// min: 1<<34 overflows a 32-bit int (386, arm, mips), where MaxInt is
	// the same case as MaxInt32.
	for _, maxAge := range []int{math.MaxInt32, min(1<<34, math.MaxInt), math.MaxInt} {
		s, st := open(t, t.TempDir(), fakeclock.New())
		req := request(nil)
		sess, err := s.New(req, "hello")
		if err != nil {
			t.Fatal(err)
		}
		sess.Options.MaxAge = maxAge
		sess.Values["x"] = 1
		if err := sess.Save(req, httptest.NewRecorder()); err != nil {
			t.Fatalf("MaxAge %d: Save: %v", maxAge, err)
		}
		rec, err := st.Load(t.Context(), sess.ID)
		if err != nil {
			t.Fatalf("MaxAge %d: Load: %v", maxAge, err)
		}
		if rec.Idle != fsstore.MaxIdleTimeout {
			t.Errorf("MaxAge %d: idle %v, want the cap %v", maxAge, rec.Idle, fsstore.MaxIdleTimeout)
		}
	}
}
