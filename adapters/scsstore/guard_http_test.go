package scsstore_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// guardApp is an scs app with IdleTimeout set (scs then commits on every
// request, reads included) on a fresh store: /visit puts a cart, /login
// renews the token and puts a user, /logout destroys the session, / shows
// the user, and /slow shows the user after telling loaded that scs has
// loaded its session and waiting for release: a page view still under way
// while another request of the same user runs.
type guardApp struct {
	srv     *httptest.Server
	store   *scsstore.Store
	loaded  chan struct{}
	release chan struct{}
}

func newGuardApp(t *testing.T) *guardApp {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := &guardApp{store: scsstore.New(st), loaded: make(chan struct{}), release: make(chan struct{})}
	sm := scs.New()
	sm.Store = a.store
	sm.IdleTimeout = 20 * time.Minute
	mux := http.NewServeMux()
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "cart", "socks")
	})
	handleLogInOut(mux, sm)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		a.loaded <- struct{}{}
		<-a.release
		io.WriteString(w, sm.GetString(r.Context(), "user")+"|"+sm.GetString(r.Context(), "cart"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sm.GetString(r.Context(), "user")+"|"+sm.GetString(r.Context(), "cart"))
	})
	a.srv = httptest.NewServer(sm.LoadAndSave(mux))
	t.Cleanup(a.srv.Close)
	return a
}

// overlap runs /slow with cookie until scs has loaded its session, then
// during runs, then lets /slow commit and answer, and returns /slow's
// session cookie (nil if it set none).
func (a *guardApp) overlap(t *testing.T, cookie *http.Cookie, during func()) *http.Cookie {
	t.Helper()
	type answer struct {
		cookie *http.Cookie
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		req, err := http.NewRequest("GET", a.srv.URL+"/slow", nil)
		if err != nil {
			done <- answer{err: err}
			return
		}
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		resp, err := a.srv.Client().Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		var set *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "session" {
				set = c
			}
		}
		done <- answer{cookie: set}
	}()
	<-a.loaded
	during()
	close(a.release)
	ans := <-done
	if ans.err != nil {
		t.Fatal(ans.err)
	}
	return ans.cookie
}

// TestLogoutOverlappedByPageView: a page view whose session scs loaded
// before a log out, and which commits after it, must not save the
// logged-in session again: after both answers, the token the page view
// still carried finds no session, through the store and over HTTP.
func TestLogoutOverlappedByPageView(t *testing.T) {
	a := newGuardApp(t)
	_, cookie := getUser(t, a.srv, "/login", nil)
	if cookie == nil {
		t.Fatal("log in set no cookie")
	}
	var afterLogout *http.Cookie
	a.overlap(t, cookie, func() {
		_, afterLogout = getUser(t, a.srv, "/logout", cookie)
	})
	if afterLogout == nil || afterLogout.MaxAge >= 0 {
		t.Fatalf("log out answered cookie %v; want it cleared", afterLogout)
	}
	if _, found := mustFind(t, a.store, cookie.Value); found {
		t.Fatal("after a log out overlapped by a page view, the logged-out token finds a session")
	}
	if got, _ := getUser(t, a.srv, "/", cookie); got != "|" {
		t.Fatalf("a request with the logged-out token sees %q; want no user", got)
	}
}

// TestRenewTokenOverlappedByPageView: a page view with the old token
// that commits after a log in renewed the token must not make the old
// token valid again (whoever planted it would share the session's
// token's history: session fixation).
func TestRenewTokenOverlappedByPageView(t *testing.T) {
	a := newGuardApp(t)
	_, old := getUser(t, a.srv, "/visit", nil)
	if old == nil {
		t.Fatal("visit set no cookie")
	}
	var renewed *http.Cookie
	a.overlap(t, old, func() {
		_, renewed = getUser(t, a.srv, "/login", old)
	})
	if renewed == nil || renewed.Value == old.Value {
		t.Fatalf("log in answered cookie %v; want a new token", renewed)
	}
	if _, found := mustFind(t, a.store, old.Value); found {
		t.Fatal("after a log in overlapped by a page view with the old token, the old token finds a session")
	}
	if got, _ := getUser(t, a.srv, "/", old); got != "|" {
		t.Errorf("a request with the old token sees %q; want no session", got)
	}
	if got, _ := getUser(t, a.srv, "/", renewed); got != "alice|socks" {
		t.Errorf("a request with the new token sees %q; want the logged-in session", got)
	}
}

// TestOrdinaryRequestsWithGuard: requests that do not overlap a log in or
// out behave as before: the session carries over, a log in keeps the
// cart under a new token, a page view with the new token during no
// log out commits as usual, and after a log out the next session is new.
func TestOrdinaryRequestsWithGuard(t *testing.T) {
	a := newGuardApp(t)
	_, c := getUser(t, a.srv, "/visit", nil)
	if got, _ := getUser(t, a.srv, "/", c); got != "|socks" {
		t.Fatalf("after a visit: %q", got)
	}
	_, c = getUser(t, a.srv, "/login", c)
	if got, _ := getUser(t, a.srv, "/", c); got != "alice|socks" {
		t.Fatalf("after log in: %q", got)
	}
	// A page view overlapping another page view commits as before.
	if set := a.overlap(t, c, func() {
		if got, _ := getUser(t, a.srv, "/", c); got != "alice|socks" {
			t.Errorf("page view during another: %q", got)
		}
	}); set == nil || set.Value != c.Value {
		t.Fatalf("a page view answered cookie %v; want the session's token again", set)
	}
	if b, found := mustFind(t, a.store, c.Value); !found || len(b) == 0 {
		t.Fatal("the session is gone after two page views")
	}
	getUser(t, a.srv, "/logout", c)
	if got, fresh := getUser(t, a.srv, "/visit", c); got != "" || fresh == nil || fresh.Value == c.Value {
		t.Fatalf("after log out: %q, cookie %v; want a fresh session under a new token", got, fresh)
	}
}
