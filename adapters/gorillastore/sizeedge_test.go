package gorillastore_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestSizeLimitEdge holds that the largest session the store takes, with
// NUL bytes in a key and a value, loads back whole, and that one a byte
// larger fails Save with an error matching fsstore.ErrTooLarge and sends
// no cookie for it.
func TestSizeLimitEdge(t *testing.T) {
	const limit = 512
	clk := fakeclock.New()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour), fsstore.WithMaxSize(limit), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := gorillastore.New(st, key)
	s.SetClock(clk.Now)
	saved := -1
	for n := 0; n <= limit; n++ {
		val := strings.Repeat("v\x00", n)[:n]
		sess, err := s.New(tlsRequest(nil), "s")
		if err != nil {
			t.Fatal(err)
		}
		sess.Values["k\x00"] = val
		rec := httptest.NewRecorder()
		if err := s.Save(tlsRequest(nil), rec, sess); err != nil {
			if !errors.Is(err, fsstore.ErrTooLarge) || saved < 0 {
				t.Fatalf("Save of a value of %d bytes: %v, want ErrTooLarge after some that fit", n, err)
			}
			if c := rec.Result().Cookies(); len(c) != 0 {
				t.Errorf("a session over the limit sent cookies %v", c)
			}
			return
		}
		saved = n
		var cookie *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == "s" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatalf("a session of %d bytes saved without a cookie", n)
		}
		got, err := s.New(tlsRequest(cookie), "s")
		if err != nil || got.IsNew || got.Values["k\x00"] != val {
			t.Fatalf("a value of %d bytes loaded back as %q (new %v, err %v)", n, got.Values["k\x00"], got.IsNew, err)
		}
	}
	t.Fatalf("every value up to %d bytes saved under a limit of %d", limit, limit)
}

// tlsRequest is a request over HTTPS, which a Secure cookie answers
// without a warning, with cookie if not nil.
func tlsRequest(cookie *http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", "https://www.example.com/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return req
}
