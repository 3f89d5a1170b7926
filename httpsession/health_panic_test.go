package httpsession_test

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// TestHealthCheckPanic: a check that panics (a HealthChecker's own code,
// or the store's Observer, whose panic Store.Health raises in its caller)
// ran on the handler's own goroutine, where nothing recovers a panic: it
// ended the process, every app server probed at once. The probe that
// waited for it now raises it in its own goroutine, where net/http
// recovers and logs it, stack of the check included, and drops the
// probe's connection (not ready). A check that exits without an outcome
// (runtime.Goexit) is not healthy either; it used to leave its check
// unfinished for good, and every later probe waited for it, 503 after
// 503. The next probe checks again.
func TestHealthCheckPanic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(context.Context) error
		log   string
	}{
		{"panic", func(context.Context) error { panic("observer broke") }, "observer broke"},
		{"Goexit", func(context.Context) error { runtime.Goexit(); return nil }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			broken := true
			f := &fakeHealth{check: func(ctx context.Context) error {
				if broken {
					return tc.check(ctx)
				}
				return nil
			}}
			h := httpsession.HealthHandler(f, time.Minute)
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ErrorLog = log.New(&lockedWriter{w: &logBuf}, "", 0)
			srv.Start()
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Errorf("status %d: want not ready", resp.StatusCode)
				}
			}
			srv.Close() // waits for the handler, and its log line
			if tc.log != "" && (!strings.Contains(logBuf.String(), tc.log) || !strings.Contains(logBuf.String(), "health_panic_test.go")) {
				t.Errorf("server log %q: want the check's panic, with its stack", logBuf.String())
			}
			broken = false
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("after the check stopped failing: status %d, want 200", rec.Code)
			}
		})
	}
}
