package gorillastore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/webtest"
)

// conformanceStores returns gorillastore next to gorilla's FilesystemStore
// (the store it replaces), all with the same keys and the same Options, so
// that the scenarios below see only the stores' own behaviour.
func conformanceStores(t *testing.T) map[string]sessions.Store {
	t.Helper()
	opts := sessions.Options{Path: "/", MaxAge: 3600, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	fs := sessions.NewFilesystemStore(t.TempDir(), key)
	fs.Options = &sessions.Options{}
	*fs.Options = opts
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ours := gorillastore.New(st, key)
	*ours.Options = opts
	return map[string]sessions.Store{"FilesystemStore": fs, "gorillastore": ours}
}

// browser carries the cookies of one user from response to request, as a
// browser does.
type browser struct{ cookies map[string]*http.Cookie }

func (b *browser) request() *http.Request {
	r := httptest.NewRequest("GET", "https://www.example.com/", nil)
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func (b *browser) take(w *httptest.ResponseRecorder) {
	if b.cookies == nil {
		b.cookies = map[string]*http.Cookie{}
	}
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
}

// cookieLine describes a Set-Cookie as the browser sees it: every
// attribute, Expires as its distance from now, the value only as empty or
// not (each store encodes its own).
func cookieLine(w *httptest.ResponseRecorder) string {
	var lines []string
	for _, c := range w.Result().Cookies() {
		exp := webtest.ExpiresIn(c)
		lines = append(lines, fmt.Sprintf("%s empty=%t path=%q domain=%q maxage=%d expires=%s secure=%t httponly=%t samesite=%d partitioned=%t",
			c.Name, c.Value == "", c.Path, c.Domain, c.MaxAge, exp, c.Secure, c.HttpOnly, c.SameSite, c.Partitioned))
	}
	return strings.Join(lines, "; ")
}

func errLine(err error) string {
	if err == nil {
		return "nil"
	}
	var se securecookie.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("securecookie decode=%t", se.IsDecode())
	}
	return "error"
}

func valuesLine(v map[any]any) string {
	var kv []string
	for k, x := range v {
		kv = append(kv, fmt.Sprintf("%v=%v", k, x))
	}
	slices.Sort(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

// A conformance scenario drives a store through requests and logs what an
// application or a browser can observe. Each line is compared between the
// stores.
type conformance struct {
	name string
	run  func(t *testing.T, s sessions.Store, log func(format string, a ...any))
	// differs names the lines where gorillastore deliberately differs from
	// FilesystemStore, with where that is documented.
	differs map[int]string
}

func signedCookie(t *testing.T, name string, id string) *http.Cookie {
	t.Helper()
	sc := securecookie.New(key, nil)
	sc.MaxLength(0)
	v, err := sc.Encode(name, id)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: name, Value: v}
}

var conformances = []conformance{
	{name: "new session", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		r := (&browser{}).request()
		sess, err := s.Get(r, "app")
		log("get: err=%s new=%t values=%s id=%q", errLine(err), sess.IsNew, valuesLine(sess.Values), sess.ID)
		again, _ := s.Get(r, "app")
		log("second get same session: %t", again == sess)
		sess.Options.Path = "/changed"
		fresh, _ := s.New(r, "app")
		log("options copied: %q", fresh.Options.Path)
		log("new not registered: %t", fresh != sess)
	}},
	{name: "save and load", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.Values["user"] = "alice"
		sess.Values[42] = 3.5
		w := httptest.NewRecorder()
		log("save: %v", s.Save(b.request(), w, sess))
		log("cookie: %s", cookieLine(w))
		id := sess.ID
		b.take(w)
		got, err := s.Get(b.request(), "app")
		log("get: err=%s new=%t values=%s same id=%t", errLine(err), got.IsNew, valuesLine(got.Values), got.ID == id)
	}},
	{name: "cookie attributes", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		sess, _ := s.Get((&browser{}).request(), "app")
		*sess.Options = sessions.Options{Path: "/app", Domain: "example.com", MaxAge: 7200, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, Partitioned: true}
		sess.Values["k"] = "v"
		w := httptest.NewRecorder()
		log("save: %v", s.Save(nil, w, sess))
		log("cookie: %s", cookieLine(w))
		*sess.Options = sessions.Options{Path: "/", MaxAge: 60, SameSite: http.SameSiteNoneMode, Secure: true}
		w = httptest.NewRecorder()
		log("save: %v", s.Save(nil, w, sess))
		log("cookie: %s", cookieLine(w))
	}},
	{name: "sessions.Save saves every session of the request", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		r := b.request()
		a, _ := s.Get(r, "a")
		c, _ := s.Get(r, "c")
		a.Values["x"], c.Values["y"] = 1, 2
		w := httptest.NewRecorder()
		log("save all: %v", sessions.Save(r, w))
		log("cookies: %d", len(w.Result().Cookies()))
		b.take(w)
		r = b.request()
		a, errA := s.Get(r, "a")
		c, errC := s.Get(r, "c")
		log("a: %s %s, c: %s %s", errLine(errA), valuesLine(a.Values), errLine(errC), valuesLine(c.Values))
	}},
	{name: "flashes", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.AddFlash("saved")
		sess.AddFlash("again", "notice")
		w := httptest.NewRecorder()
		log("save: %v", s.Save(b.request(), w, sess))
		b.take(w)
		sess, _ = s.Get(b.request(), "app")
		log("flashes: %v %v", sess.Flashes(), sess.Flashes("notice"))
		w = httptest.NewRecorder()
		log("save: %v", s.Save(b.request(), w, sess))
		b.take(w)
		sess, _ = s.Get(b.request(), "app")
		log("flashes after: %v %v", sess.Flashes(), sess.Flashes("notice"))
	}},
	{name: "log out with a negative MaxAge", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.Values["user"] = "alice"
		w := httptest.NewRecorder()
		s.Save(b.request(), w, sess)
		b.take(w)
		old := *b.cookies["app"]
		sess, _ = s.Get(b.request(), "app")
		sess.Options.MaxAge = -1
		w = httptest.NewRecorder()
		log("save: %v", s.Save(b.request(), w, sess))
		log("cookie: %s", cookieLine(w))
		log("values kept in the session: %s", valuesLine(sess.Values))
		log("id kept: %t", sess.ID != "")
		log("delete again: %v", s.Save(b.request(), httptest.NewRecorder(), sess))
		// A replayed cookie (another tab, an attacker's copy).
		r := httptest.NewRequest("GET", "https://www.example.com/", nil)
		r.AddCookie(&old)
		got, err := s.Get(r, "app")
		log("old cookie: err=%s new=%t values=%s", errLine(err), got.IsNew, valuesLine(got.Values))
	}, differs: map[int]string{
		3: "gorillastore.Store.Save: the deleted session's ID is cleared",
		5: "gorillastore.Store.New: a cookie naming a missing session is no error",
	}},
	{name: "save again after a log out in the same request", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.Values["user"] = "alice"
		w := httptest.NewRecorder()
		s.Save(b.request(), w, sess)
		b.take(w)
		old := b.cookies["app"].Value
		sess, _ = s.Get(b.request(), "app")
		id := sess.ID
		sess.Options.MaxAge = -1
		s.Save(b.request(), httptest.NewRecorder(), sess)
		sess.Options.MaxAge = 3600
		sess.AddFlash("bye")
		w = httptest.NewRecorder()
		log("save: %v", s.Save(b.request(), w, sess))
		b.take(w)
		log("same id: %t, same cookie: %t", sess.ID == id, b.cookies["app"].Value == old)
		got, err := s.Get(b.request(), "app")
		log("get: err=%s new=%t flashes=%v", errLine(err), got.IsNew, got.Flashes())
	}, differs: map[int]string{
		1: "gorillastore.Store.Save: saved again after a deletion, the session gets a new ID",
	}},
	{name: "MaxAge 0", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.Values["user"] = "alice"
		sess.Options.MaxAge = 0
		w := httptest.NewRecorder()
		log("save: %v", s.Save(b.request(), w, sess))
		log("cookie: %s", cookieLine(w))
	}, differs: map[int]string{
		1: "docs/migrating.md: a deletion expires the cookie, FilesystemStore's stays empty",
	}},
	{name: "bad cookies", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		for _, v := range []string{
			"garbage",
			"../../../../etc/passwd",
			strings.Repeat("A", 8000),
			strings.Repeat("%C3%BC", 50),
		} {
			r := httptest.NewRequest("GET", "https://www.example.com/", nil)
			r.AddCookie(&http.Cookie{Name: "app", Value: v})
			sess, err := s.Get(r, "app")
			log("cookie %.20q: err=%s new=%t id=%q", v, errLine(err), sess.IsNew, sess.ID)
		}
	}, differs: map[int]string{
		// securecookie refuses a value over its codec's MaxLength with a
		// plain error that is no securecookie.Error (IsDecode false).
		// gorillastore lifts the limit (New: stored values are no cookie)
		// and the value fails authentication: a decode error, which
		// applications take for a stale cookie.
		2: "gorillastore.New: MaxLength(0)",
	}},
	{name: "signed cookies naming no session", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		for i, id := range []string{
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST", // a FilesystemStore ID
			"../../../../../../etc/passwd",
			"session_x/../../outside",
			strings.Repeat("x", 3000),
			"\x00nul\x00",
			"ünïcødé-ünïcødé-ünïcødé",
		} {
			r := httptest.NewRequest("GET", "https://www.example.com/", nil)
			r.AddCookie(signedCookie(t, "app", id))
			sess, err := s.Get(r, "app")
			log("id %d: err=%t new=%t values=%s adopted=%t", i, err != nil, sess.IsNew, valuesLine(sess.Values), sess.ID == id)
			sess.Values["n"] = i
			w := httptest.NewRecorder()
			err = s.Save(r, w, sess)
			log("id %d: saved=%t adopted=%t", i, err == nil, sess.ID == id)
		}
	}, differs: func() map[int]string {
		// FilesystemStore returns the file system's error for a missing
		// file and saves the session under the cookie's ID, which
		// gorillastore never adopts (the security model's table in
		// docs/security.md). For IDs with a path separator
		// FilesystemStore reads and writes session_<base name>.
		m := map[int]string{}
		for i := range 12 {
			m[i] = "docs/security.md: unknown IDs are not adopted"
		}
		return m
	}()},
	{name: "a stale cookie of the same name before the user's", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.Values["user"] = "alice"
		w := httptest.NewRecorder()
		s.Save(b.request(), w, sess)
		b.take(w)
		// Browsers send the cookie of the longer path first: one left by
		// an earlier Options.Path, signed with a retired key.
		stale, err := securecookie.New([]byte("a retired key, 32 bytes long...."), nil).Encode("app", "old")
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "https://www.example.com/", nil)
		r.AddCookie(&http.Cookie{Name: "app", Value: stale})
		r.AddCookie(&http.Cookie{Name: "app", Value: b.cookies["app"].Value})
		got, err := s.Get(r, "app")
		log("get: err=%s new=%t values=%s", errLine(err), got.IsNew, valuesLine(got.Values))
	}, differs: map[int]string{
		0: "gorillastore.Store.New: every cookie of the name is tried",
	}},
	{name: "client hung up before the save", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		// net/http ends a request's context when its client hangs up (a
		// tab closed, a second click); gorilla's stores take no context
		// and save, or delete, all the same.
		var b browser
		hungUp := func() (*http.Request, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			return b.request().WithContext(ctx), cancel
		}
		sess, _ := s.Get(b.request(), "app")
		sess.Values["user"] = "alice"
		w := httptest.NewRecorder()
		s.Save(b.request(), w, sess)
		b.take(w)
		r, hangup := hungUp()
		sess, _ = s.Get(r, "app")
		hangup()
		sess.Values["cart"] = "book"
		w = httptest.NewRecorder()
		log("save: %v", s.Save(r, w, sess))
		b.take(w)
		got, err := s.Get(b.request(), "app")
		log("get: err=%s new=%t values=%s", errLine(err), got.IsNew, valuesLine(got.Values))
		// The client hangs up before the handler's first use of the
		// session, which gin-contrib's middleware loads then.
		r, hangup = hungUp()
		hangup()
		sess, err = s.Get(r, "app")
		log("get after the hang-up: err=%s new=%t values=%s", errLine(err), sess.IsNew, valuesLine(sess.Values))
		sess.Values["cart"] = "two books"
		log("save: %v", s.Save(r, httptest.NewRecorder(), sess))
		got, _ = s.Get(b.request(), "app")
		log("get: values=%s", valuesLine(got.Values))
		// A log out clicked just before the browser closed: its answer,
		// which expires the cookie, never arrives.
		r, hangup = hungUp()
		sess, _ = s.Get(r, "app")
		hangup()
		sess.Options.MaxAge = -1
		log("log out: %v", s.Save(r, httptest.NewRecorder(), sess))
		got, _ = s.Get(b.request(), "app")
		log("the cookie the browser kept: new=%t values=%s", got.IsNew, valuesLine(got.Values))
	}},
	{name: "overlapping requests: last writer wins", run: func(t *testing.T, s sessions.Store, log func(string, ...any)) {
		var b browser
		sess, _ := s.Get(b.request(), "app")
		sess.Values["n"] = 1
		w := httptest.NewRecorder()
		s.Save(b.request(), w, sess)
		b.take(w)
		r1, r2 := b.request(), b.request()
		s1, _ := s.Get(r1, "app")
		s2, _ := s.Get(r2, "app")
		s1.Values["a"] = "first"
		s2.Values["b"] = "second"
		log("save 1: %v", s.Save(r1, httptest.NewRecorder(), s1))
		log("save 2: %v", s.Save(r2, httptest.NewRecorder(), s2))
		got, err := s.Get(b.request(), "app")
		log("get: err=%s values=%s", errLine(err), valuesLine(got.Values))
	}},
}

// TestConformsToFilesystemStore runs each scenario against gorilla's
// FilesystemStore and gorillastore and compares what an application and a
// browser see, line by line. Where gorillastore deliberately differs the
// scenario names the line and the place that documents it; any other
// difference is a defect.
func TestConformsToFilesystemStore(t *testing.T) {
	for _, sc := range conformances {
		t.Run(sc.name, func(t *testing.T) {
			logs := map[string][]string{}
			for name, s := range conformanceStores(t) {
				sc.run(t, s, func(format string, a ...any) {
					logs[name] = append(logs[name], fmt.Sprintf(format, a...))
				})
			}
			want, got := logs["FilesystemStore"], logs["gorillastore"]
			if len(want) != len(got) {
				t.Fatalf("FilesystemStore logged %d lines, gorillastore %d:\n%s\n--\n%s", len(want), len(got), strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			for i := range want {
				why, deliberate := sc.differs[i]
				switch {
				case want[i] != got[i] && !deliberate:
					t.Errorf("line %d differs:\n  FilesystemStore: %s\n  gorillastore:    %s", i, want[i], got[i])
				case want[i] == got[i] && deliberate && !strings.HasPrefix(why, "docs/security.md"):
					t.Errorf("line %d is said to differ (%s) but does not: %s", i, why, got[i])
				case testing.Verbose() && want[i] != got[i]:
					t.Logf("line %d differs, deliberately (%s):\n  FilesystemStore: %s\n  gorillastore:    %s", i, why, want[i], got[i])
				}
			}
		})
	}
}
