package httpsession_test

// Hijack on a request whose ResponseWriter cannot be hijacked (HTTP/2)
// fails with http.ErrNotSupported before committing anything: nothing went
// out, so the handler's fallback answer may still Renew or create a
// session, and carries the cookie.

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

func TestFailedHijackOverHTTP2(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	type result struct {
		proto             string
		hijackErr         error
		savedBeforeAnswer string
		renewErr          error
	}
	res := make(chan result, 1)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("n", 99)
		var out result
		out.proto = r.Proto
		_, _, out.hijackErr = http.NewResponseController(w).Hijack()
		if sess, err := e.st.Load(r.Context(), id); err == nil {
			out.savedBeforeAnswer = string(sess.Data)
		}
		// Fallback: no websocket here; answer over plain HTTP, and the
		// log in that came with the upgrade request still renews the ID.
		out.renewErr = s.Renew()
		res <- out
		fmt.Fprint(w, "use long polling")
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: id})
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := <-res
	if out.proto != "HTTP/2.0" {
		t.Skipf("request came over %s", out.proto)
	}
	if !errors.Is(out.hijackErr, http.ErrNotSupported) {
		t.Fatalf("Hijack: %v, want ErrNotSupported", out.hijackErr)
	}
	if strings.Contains(out.savedBeforeAnswer, "99") {
		t.Errorf("a Hijack that failed committed the session before anything was answered: %s", out.savedBeforeAnswer)
	}
	if out.renewErr != nil {
		t.Errorf("Renew after a failed Hijack (nothing sent yet): %v", out.renewErr)
	}
	if c := sessionCookie(resp); c == nil || c.Value == id {
		t.Errorf("the fallback answer does not carry a renewed cookie: %q", resp.Header.Values("Set-Cookie"))
	}
}

// TestHijackDropsSessionCookie: a hijacker writes its own response on the
// raw connection (as websocket upgraders do), so a cookie the commit puts
// in the header map is never sent. A renewed session (whose old record the
// commit deletes) must not log the user out: Hijack refuses it instead.
func TestHijackDropsSessionCookie(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("user", "ada")
		if err := s.Renew(); err != nil {
			t.Error(err)
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// Refusing is fine (the error handler answered): the
			// invariant checked below is that the client is not logged out.
			t.Logf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		brw.Flush()
	}))
	srv := serve(t, h)
	resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
	body(t, resp)
	if c := sessionCookie(resp); c == nil {
		if _, err := e.st.Load(t.Context(), id); err != nil {
			t.Errorf("the hijacked response carried no session cookie, and the session the client's cookie names is gone: %v", err)
		}
	}
}
