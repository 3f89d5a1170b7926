//go:build linux

package gorillastore_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestSaveOnFullOrReadOnlyFileSystem: Save fails with the file system's
// error, which httpsession.StatusCode maps to 503, both passing (a
// read-only mount is this host's, which its readiness probe then drains);
// no cookie is set, for the user's
// session or a new visitor's, and the session saved before is intact and
// counts on once the fault is fixed.
func TestSaveOnFullOrReadOnlyFileSystem(t *testing.T) {
	for _, tc := range []struct {
		fault, msg string
		code       int
	}{
		{"disk full", "no space left on device", http.StatusServiceUnavailable},
		{"read-only mount", "read-only file system", http.StatusServiceUnavailable},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			mnt := testenv.MountTmpfs(t, "1m")
			dir := filepath.Join(mnt, "store")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			// Seeded through a store closed before the remount: one that
			// has saved keeps a lock file open for writing, and a remount
			// read-only fails with EBUSY while it does.
			clk := fakeclock.New()
			seed, st := open(t, dir, clk)
			user := cookieOf(t, serveCookie(counterApp(seed), ""), "app")
			st.Close()
			s, _ := open(t, dir, clk)
			h := counterApp(s)
			var restore func()
			if tc.fault == "disk full" {
				restore = testenv.FillUp(t, mnt)
			} else {
				testenv.RemountTmpfs(t, mnt, true)
				restore = func() { testenv.RemountTmpfs(t, mnt, false) }
			}
			for _, header := range []string{"app=" + user.Value, ""} {
				w := serveCookie(h, header)
				if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.msg) {
					t.Errorf("cookie %v: status %d, body %q: want %d naming %q", header != "", w.Code, w.Body, tc.code, tc.msg)
				}
				if c := w.Result().Cookies(); len(c) != 0 {
					t.Errorf("cookie %v: Set-Cookie %v, want none", header != "", c)
				}
			}
			restore()
			if w := serveCookie(h, "app="+user.Value); w.Code != http.StatusOK || w.Body.String() != "2" {
				t.Errorf("once fixed: status %d, body %q; want the user's session, 2", w.Code, w.Body)
			}
		})
	}
}
