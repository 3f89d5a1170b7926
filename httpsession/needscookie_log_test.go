package httpsession_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestNeedsCookieRefusalIsLogged: a Put into a session with no record, or
// a Renew, after the response started is refused with ErrNeedsCookie, and
// a handler that drops the error (a streamed page that remembers
// something, a log in that writes before it renews) lost the change
// without a line anywhere. The route works for users whose session has a
// record and fails for every client that comes without a cookie (a first
// visit, a client that keeps none, a cookie Domain or Path that keeps the
// cookie from coming back): the operator and the developer saw nothing.
// The refusal is now logged at Warn, once per Manager (a route meets it
// on every such request: no flood), naming the route and ErrNeedsCookie.
func TestNeedsCookieRefusalIsLogged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cookie bool // the request carries the cookie of a session with a record
		change func(s *httpsession.Session) error
	}{
		{"Put into a new session", false, func(s *httpsession.Session) error { return s.Put("late", 1) }},
		{"Renew", true, (*httpsession.Session).Renew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := ""
			if tc.cookie {
				id = firstCookie(t, e.st)
			}
			e.log.Reset()
			var errs []error
			srv := serve(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				s.GetInt("n")
				fmt.Fprint(w, "page")
				errs = append(errs, tc.change(s)) // the handler drops it
			})))
			c := client(t, srv)
			for range 3 {
				if resp := call(t, c, "GET", srv.URL+"/stream", id, nil); resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			for i, err := range errs {
				if !errors.Is(err, httpsession.ErrNeedsCookie) {
					t.Errorf("request %d: change returned %v, want ErrNeedsCookie", i, err)
				}
			}
			log := e.log.String()
			if n := strings.Count(log, "level=WARN"); n != 1 {
				t.Errorf("%d WARN lines over 3 requests, want one:\n%s", n, log)
			}
			for _, want := range []string{"path=/stream", "response can no longer carry one", "Logged once"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}

// TestNeedsCookieRefusalLoggedPerRoute: the warning was logged once per
// Manager, so the first route that dropped an ErrNeedsCookie hid every
// other (a streamed page's Put logged, a log in's late Renew never): an
// operator who fixed the one logged saw nothing of the next. It is logged
// once per change and path, and for a bounded number of them, as a path
// may carry an ID.
func TestNeedsCookieRefusalLoggedPerRoute(t *testing.T) {
	e := newEnv(t, nil)
	e.log.Reset()
	srv := serve(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.GetInt("n")
		fmt.Fprint(w, "page")
		if strings.HasPrefix(r.URL.Path, "/login") {
			_ = s.Renew()
		} else {
			_ = s.Put("late", 1)
		}
	})))
	c := client(t, srv)
	for _, tc := range []struct {
		path   string
		cookie bool // a session with a record, which a refused Renew ends
	}{
		{"/stream", false}, {"/stream", false}, {"/login", true}, {"/login", true},
	} {
		id := ""
		if tc.cookie {
			id = firstCookie(t, e.st)
		}
		if resp := call(t, c, "GET", srv.URL+tc.path, id, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tc.path, resp.StatusCode)
		}
	}
	log := e.log.String()
	for _, want := range []string{"path=/stream", "path=/login"} {
		if n := strings.Count(log, want); n != 1 {
			t.Errorf("%d lines with %q, want one:\n%s", n, want, log)
		}
	}
	e.log.Reset()
	for i := range 20 {
		if resp := call(t, c, "GET", fmt.Sprintf("%s/orders/%d", srv.URL, i), "", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := strings.Count(e.log.String(), "level=WARN"); n > 8 {
		t.Errorf("%d WARN lines for 20 paths, want at most 8:\n%s", n, e.log.String())
	}
}
