//go:build linux

package httpsession_test

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestSaveWithoutWritePermission: the user's record is readable but its
// directory is not writable by the application (a chmod or an EFS access
// point mistake). Reading the session works; a change fails with a 500
// whose logged error is the permission error, with no cookie and the
// handler's answer dropped, and the stored session is unchanged. The
// host's readiness is not affected.
func TestSaveWithoutWritePermission(t *testing.T) {
	if os.Getuid() == 0 {
		reexecUnprivileged(t, "TestSaveWithoutWritePermission")
		return
	}
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			shard := filepath.Dir(recordPath(e.st, id))
			if err := os.Chmod(shard, 0o500); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(shard, 0o700)
			read := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(strings.Repeat("n", httpsession.FromContext(r.Context()).GetInt("n"))))
			}))
			if resp := do(t, read, id); resp.StatusCode != http.StatusOK || body(t, resp) != "n" || sessionCookie(resp) != nil {
				t.Errorf("a read: status %d, cookie %v; want 200, the session, no cookie", resp.StatusCode, sessionCookie(resp))
			}
			var seen error
			m := httpsession.New(e.st, httpsession.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
				seen = err
				http.Error(w, "failed", httpsession.StatusCode(err))
			}))
			resp := do(t, m.Middleware(mode)(counter()), id)
			if b := body(t, resp); resp.StatusCode != http.StatusInternalServerError || sessionCookie(resp) != nil || strings.Contains(b, "2") {
				t.Errorf("a change: status %d, cookie %v, body %q; want a bare 500", resp.StatusCode, sessionCookie(resp), b)
			}
			if !errors.Is(seen, fs.ErrPermission) {
				t.Errorf("error %v; want a permission error", seen)
			}
			// Every host meets this shard alike: readiness failing for it
			// would take them all out of rotation.
			if err := e.st.Health(t.Context()); err != nil {
				t.Errorf("Health after a write refused for permission: %v, want nil", err)
			}
			os.Chmod(shard, 0o700)
			if got := body(t, do(t, e.m.Handler(counter()), id)); got != "2" {
				t.Errorf("once writable again: counter %q, want 2 (the stored session unchanged)", got)
			}
		})
	}
}
