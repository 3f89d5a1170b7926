package scsstore_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// A store that fails (here: closed; in an outage: fsstore.ErrUnavailable,
// which maps the same) fails scs's load of the session. scs's own
// ErrorFunc answers 500; scsstore.ErrorFunc answers 503 with Retry-After,
// as httpsession does, and logs why.
func TestErrorFuncUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set        bool // scsstore.ErrorFunc, or scs's default
		code       int
		retryAfter string
	}{
		{"scs default", false, http.StatusInternalServerError, ""},
		{"scsstore.ErrorFunc", true, http.StatusServiceUnavailable, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			sm := scs.New()
			sm.Store = scsstore.New(st)
			var logged bytes.Buffer
			if tc.set {
				sm.ErrorFunc = scsstore.ErrorFunc(slog.New(slog.NewTextHandler(&logged, nil)))
			}
			srv := httptest.NewServer(sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "user", "alice")
				io.WriteString(w, "ok")
			})))
			defer srv.Close()
			c := srv.Client()
			c.Jar, _ = cookiejar.New(nil)
			get := func() *http.Response {
				t.Helper()
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			if resp := get(); resp.StatusCode != http.StatusOK {
				t.Fatalf("first request: %d", resp.StatusCode)
			}
			st.Close() // the session now exists, and the store fails
			resp := get()
			if resp.StatusCode != tc.code || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Fatalf("status %d, Retry-After %q; want %d, %q", resp.StatusCode, resp.Header.Get("Retry-After"), tc.code, tc.retryAfter)
			}
			if tc.set && !strings.Contains(logged.String(), "status=503") {
				t.Errorf("log %q; want the failure with its status", logged.String())
			}
		})
	}
}
