package httpsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// TestEarlyHintsAfterReleaseCarryNoCookie: a 103 Early Hints written after
// Release went out with the session's cookie, which Release had put into
// the response's header: net/http sends the whole header map with a 1xx
// (RFC 8297 keeps it for the final response), over HTTP/1.1 and HTTP/2
// alike. A 1xx is no place for the cookie (browsers ignore Set-Cookie
// there, and a proxy that forwards hints, or logs them, gets the session's
// ID before the response it belongs to), and the final response carries it
// anyway. The 103 now carries the handler's fields (its Link) without the
// lines the session's commit put there, and the final response has them.
func TestEarlyHintsAfterReleaseCarryNoCookie(t *testing.T) {
	for _, tc := range []struct {
		name  string
		http2 bool
		// cookie: the request carries the cookie of a session that
		// exists, which Renew then moves (a log in).
		cookie bool
	}{
		{"HTTP/1.1, new session", false, false},
		{"HTTP/1.1, renewed session", false, true},
		{"HTTP/2, new session", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := ""
			if tc.cookie {
				id = firstCookie(t, e.st)
			}
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := s.Put("user", "ada"); err != nil {
					t.Error(err)
				}
				if tc.cookie {
					if err := s.Renew(); err != nil {
						t.Error(err)
					}
				}
				if err := s.Release(); err != nil {
					t.Error(err)
				}
				w.Header().Set("Link", "</app.css>; rel=preload; as=style")
				w.WriteHeader(http.StatusEarlyHints)
				fmt.Fprint(w, "page")
			}))
			srv := httptest.NewUnstartedServer(h)
			if tc.http2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			var (
				mu      sync.Mutex
				interim []textproto.MIMEHeader
			)
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				mu.Lock()
				defer mu.Unlock()
				interim = append(interim, h)
				return nil
			}}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if id != "" {
				req.AddCookie(&http.Cookie{Name: "session", Value: id})
			}
			c := srv.Client()
			c.Timeout = 2 * time.Minute // a hang detector
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if tc.http2 != (resp.ProtoMajor == 2) {
				t.Fatalf("response over %s", resp.Proto)
			}
			if c := sessionCookie(resp); resp.StatusCode != http.StatusOK || c == nil || c.Value == "" || c.Value == id {
				t.Errorf("status %d, cookie %v: want 200 with the fresh session's cookie", resp.StatusCode, c)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(interim) != 1 {
				t.Fatalf("%d informational responses, want one", len(interim))
			}
			if got := interim[0].Get("Link"); got == "" {
				t.Errorf("the 103 lost the handler's Link: %v", interim[0])
			}
			for _, l := range interim[0].Values("Set-Cookie") {
				if strings.HasPrefix(l, "session=") {
					t.Errorf("the 103 carries the session's cookie: %s", l)
				}
			}
			if cc := interim[0].Values("Cache-Control"); len(cc) > 0 {
				t.Errorf("the 103 carries the cookie's Cache-Control: %q", cc)
			}
		})
	}
}
