package httpsession_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestPutAfterRefusedRenewOverHTTP: a log in that renews after its
// response started gets ErrNeedsCookie from Renew, and often drops it
// (gorilla-style code checks no error of a session call). Its next Put,
// the user's identity, must not be saved under the ID the request came
// with, which an attacker may have planted before the log in (session
// fixation): Put fails with ErrNeedsCookie too, and keeps nothing. The
// session is ended, as a Destroy after the response started ends it: the
// planted ID names nothing afterwards.
func TestPutAfterRefusedRenewOverHTTP(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		for _, tc := range []struct {
			name  string
			start func(w http.ResponseWriter) // how the response starts
		}{
			{"write", func(w http.ResponseWriter) { fmt.Fprint(w, "welcome") }},
			{"flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }},
			{"write header", func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }},
		} {
			t.Run(fmt.Sprintf("%v/%s", mode, tc.name), func(t *testing.T) {
				e := newEnv(t, nil)
				planted := firstCookie(t, e.st) // the attacker's session, its cookie planted in the victim's browser
				var putErr error
				srv := serve(t, e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					tc.start(w)
					if err := s.Put("theme", "dark"); err != nil {
						t.Errorf("Put before the refused Renew: %v", err)
					}
					_ = s.Renew() // dropped, as careless log ins do
					putErr = s.Put("user", "alice")
				})))
				resp := call(t, client(t, srv), "POST", srv.URL+"/login", planted, nil)
				readAll(resp)
				if !errors.Is(putErr, httpsession.ErrNeedsCookie) {
					t.Errorf("Put after the refused Renew: error %v, want ErrNeedsCookie", putErr)
				}
				sess, err := e.st.Load(context.Background(), planted)
				if !errors.Is(err, fsstore.ErrNotFound) {
					t.Errorf("the planted ID after the refused Renew: %v, %v; want ErrNotFound (the session ended)", sess, err)
				}
				if sess != nil && strings.Contains(string(sess.Data), "alice") {
					t.Errorf("the log in's identity was saved under the planted ID it could not renew: %s", sess.Data)
				}
			})
		}
	}
}

// TestPutBeforeRefusedRenewOverHTTP: a log in may put the user's identity
// first and renew after (a Renew that succeeds moves the data at commit,
// so the order makes no difference then). Renewed after the response
// started, the Renew is refused; the identity put before it must not be
// saved under the ID the request came with either, which may have been
// planted (session fixation).
func TestPutBeforeRefusedRenewOverHTTP(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			e := newEnv(t, nil)
			planted := firstCookie(t, e.st)
			srv := serve(t, e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				fmt.Fprint(w, "welcome")
				if err := s.Put("user", "alice"); err != nil {
					t.Errorf("Put before the Renew: %v", err)
				}
				_ = s.Renew() // dropped, as careless log ins do
			})))
			resp := call(t, client(t, srv), "POST", srv.URL+"/login", planted, nil)
			readAll(resp)
			sess, err := e.st.Load(context.Background(), planted)
			if !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("the planted ID after the refused Renew: %v, %v; want ErrNotFound (the session ended)", sess, err)
			}
			if sess != nil && strings.Contains(string(sess.Data), "alice") {
				t.Errorf("the log in's identity was saved under the planted ID it could not renew: %s", sess.Data)
			}
		})
	}
}
