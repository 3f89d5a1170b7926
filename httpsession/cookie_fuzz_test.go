package httpsession_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// FuzzCookieHeader sends any Cookie header, in each mode, to a manager
// whose store holds one session, and holds the middleware to what a
// browser or an attacker may rely on: the answer is the handler's (no
// panic, no error status); the session is the stored one exactly when
// one of the header's cookies of the session's name, as net/http parses
// them, names it (and the handler's change to it is saved), a new one
// otherwise; a session cookie in the answer is a removal or a well-formed
// ID, never one the request sent (no fixation of an ID the client chose);
// and the new session's cookie, sent back, names that session. The seed
// corpus is badCookies, a header naming the stored session, and in
// testdata/fuzz/FuzzCookieHeader.
func FuzzCookieHeader(f *testing.F) {
	st, err := fsstore.Open(f.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	m := httpsession.New(st, httpsession.WithLogger(slog.New(slog.DiscardHandler)))
	type seen struct {
		n     int
		isNew bool
	}
	var got seen
	handler := func(mode httpsession.Mode) http.Handler {
		return m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			got = seen{n: s.GetInt("n"), isNew: s.IsNew()}
			switch {
			case r.URL.Path == "/destroy":
				if err := s.Destroy(); err != nil {
					http.Error(w, err.Error(), http.StatusTeapot)
				}
			case mode != httpsession.ReadOnly:
				if err := s.Put("n", got.n+1); err != nil {
					http.Error(w, err.Error(), http.StatusTeapot)
				}
			}
		}))
	}
	modes := []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly}
	handlers := make([]http.Handler, len(modes))
	for i, mode := range modes {
		handlers[i] = handler(mode)
	}
	serve := func(h http.Handler, path, header string) *http.Response {
		req := httptest.NewRequest("GET", "https://example.com"+path, nil)
		if header != "" {
			req.Header.Set("Cookie", header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}

	resp := serve(handlers[0], "/", "")
	c := sessionCookie(resp)
	if resp.StatusCode != http.StatusOK || c == nil {
		f.Fatalf("first request: status %d, cookie %v", resp.StatusCode, c)
	}
	stored, want := c.Value, 1

	for _, bad := range badCookies {
		f.Add(bad.header, uint8(0))
	}
	// "@" rather than the ID: each fuzzing process has a store, and a
	// stored session, of its own.
	f.Add("session=@", uint8(0))
	f.Add("session=@", uint8(2))
	f.Add("session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; session=@", uint8(1))
	f.Add(`session="@"`, uint8(0))
	f.Add("other=1; session=x; session=@; session=y", uint8(0))

	f.Fuzz(func(t *testing.T, header string, mode uint8) {
		// The fuzzer does not know the stored ID: "@" stands for it.
		header = strings.ReplaceAll(header, "@", stored)
		i := int(mode) % len(modes)
		sent, tried := cookieIDs(header)
		names := slices.Contains(tried, stored)

		got = seen{}
		resp := serve(handlers[i], "/", header)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Cookie %q (%v): status %d", header, modes[i], resp.StatusCode)
		}
		c := sessionCookie(resp)
		if c != nil && c.MaxAge >= 0 {
			if err := fsstore.ValidID(c.Value); err != nil {
				t.Fatalf("Cookie %q (%v): answered with a session cookie %q: %v", header, modes[i], c.Value, err)
			}
			if c.Value != stored && slices.Contains(sent, c.Value) {
				t.Fatalf("Cookie %q (%v): a new session took the ID %q the request sent", header, modes[i], c.Value)
			}
		}
		if names {
			if got.isNew || got.n != want {
				t.Fatalf("Cookie %q (%v) names the stored session: handler saw n=%d new=%v, want n=%d new=false", header, modes[i], got.n, got.isNew, want)
			}
			if modes[i] != httpsession.ReadOnly {
				want++
			}
			if c != nil && c.Value != stored {
				t.Fatalf("Cookie %q (%v) names the stored session: answered with cookie %v", header, modes[i], c)
			}
			return
		}
		if !got.isNew || got.n != 0 {
			t.Fatalf("Cookie %q (%v) does not name the stored session: handler saw n=%d new=%v, want a new session", header, modes[i], got.n, got.isNew)
		}
		if modes[i] == httpsession.ReadOnly {
			return
		}
		if c == nil || c.MaxAge < 0 {
			t.Fatalf("Cookie %q (%v): a new session was saved but the answer has cookie %v", header, modes[i], c)
		}
		// Back with the new session's cookie, alone and after the
		// header's: it names that session, which is then destroyed so
		// that the store stays small.
		for _, back := range []string{"session=" + c.Value, header + "; session=" + c.Value} {
			if _, tried := cookieIDs(back); !slices.Contains(tried, c.Value) {
				continue // behind more well-formed IDs than a request tries
			}
			got = seen{}
			resp = serve(handlers[2], "/", back)
			if resp.StatusCode != http.StatusOK || got.isNew || got.n != 1 {
				t.Fatalf("Cookie %q: the new session's cookie sent back (%q): status %d, n=%d new=%v", header, back, resp.StatusCode, got.n, got.isNew)
			}
		}
		resp = serve(handlers[0], "/destroy", "session="+c.Value)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("destroy: status %d", resp.StatusCode)
		}
		if _, err := st.Load(t.Context(), c.Value); err == nil {
			t.Fatalf("the destroyed session %s is still there", c.Value)
		}
	})
}

// cookieIDs returns the values of the session cookies in a Cookie header,
// as net/http parses them, and the IDs among them the middleware tries, in
// order: the distinct well-formed ones, at most four (a load each).
func cookieIDs(header string) (sent, tried []string) {
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.Header.Set("Cookie", header)
	for _, c := range req.CookiesNamed("session") {
		sent = append(sent, c.Value)
		if fsstore.ValidID(c.Value) == nil && !slices.Contains(tried, c.Value) && len(tried) < 4 {
			tried = append(tried, c.Value)
		}
	}
	return sent, tried
}
