package httpsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
)

// Renew in the default Exclusive mode saves the fresh ID while the request
// still holds the old ID's lock. When both IDs hash onto one lock stripe,
// the store must not make the request wait for its own lock (it used to
// hang for good: the request's context is detached from the client). The
// fresh ID is drawn on the old one's stripe (NewIDSharingStripe), so every
// renewal here is that case, with one stripe and with the default: 500
// renewals in a row, each followed by a request under the new ID, show a
// lock that one renewal leaves behind for the next. (With IDs drawn at
// random, 5,000 were needed for a few to share a stripe of 1,024.)
func TestRenewSameStripeNeverHangs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stripes []fsstore.Option
	}{
		{"one-stripe", []fsstore.Option{fsstore.WithLockStripes(1)}},
		{"default-stripes", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}, tc.stripes...)
			st, err := fsstore.Open(t.TempDir(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			m := httpsession.New(st)
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				n := s.GetInt("n")
				if err := s.Put("n", n+1); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				if r.URL.Path == "/renew" {
					if err := s.Renew(); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
				}
				fmt.Fprint(w, n+1)
			}))
			cookie := renewStripeDo(t, h, "/", nil, "1")
			const renewals = 500
			for i := 0; i < renewals; i++ {
				next := renewStripeDo(t, h, "/renew", cookie, fmt.Sprint(2+i))
				if next == nil || next.Value == cookie.Value {
					t.Fatalf("renewal %d set no fresh session cookie", i)
				}
				cookie = next
			}
		})
	}
}

// renewStripeDo serves one request with the cookie and checks the body. A
// request that does not finish within proctest.Deadline fails the test
// rather than hanging it (nothing is measured against the deadline).
func renewStripeDo(t *testing.T, h http.Handler, path string, cookie *http.Cookie, want string) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest("GET", "http://example.com"+path, nil)
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(proctest.Deadline):
		t.Fatalf("request %s did not finish: the store waits for a lock its own request holds", path)
	}
	resp := rec.Result()
	if resp.StatusCode != http.StatusOK || rec.Body.String() != want {
		t.Fatalf("%s: %d %q, want 200 %q", path, resp.StatusCode, rec.Body.String(), want)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			return c
		}
	}
	return cookie
}
