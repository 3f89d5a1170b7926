package httpsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestLoadFailedAfterResponseStartLogged: a handler that reads the session
// only after its response started (a streamed page) and whose read fails
// had nothing to save: its Get returned the error, and no answer can
// carry it any more. The end of the request logs that the session could
// not be loaded, not that a save failed; for a client that went away
// before the read (a closed tab) at Info, as the error handler's 499 is,
// since a client's hang-up is no server failure, and for a store that
// failed at Error.
func TestLoadFailedAfterResponseStartLogged(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      func(e *env, cancel context.CancelFunc)
		wantLevel string
	}{
		{"client left", func(_ *env, cancel context.CancelFunc) { cancel() }, "INFO"},
		{"store closed", func(e *env, _ context.CancelFunc) { e.st.Close() }, "ERROR"},
	} {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				e := newEnv(t, nil)
				id := seedSession(t, e.m, map[string]any{"n": 1})
				e.log.Reset()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var getErr error
				h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Write([]byte("the page's head"))
					tc.fail(e, cancel)
					_, getErr = httpsession.FromContext(r.Context()).Get("n", new(int))
				}))
				req := httptest.NewRequestWithContext(ctx, "GET", "https://example.com/", nil)
				req.AddCookie(&http.Cookie{Name: "session", Value: id})
				h.ServeHTTP(httptest.NewRecorder(), req)
				if getErr == nil {
					t.Fatal("Get succeeded; the test needs it to fail")
				}
				lines := strings.Split(strings.TrimSpace(e.log.String()), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], "level="+tc.wantLevel) || !strings.Contains(lines[0], "could not be loaded") {
					t.Errorf("log %q, want one %s line that the session could not be loaded", lines, tc.wantLevel)
				}
			})
		}
	}
}
