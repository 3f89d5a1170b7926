//go:build linux

package ginsession_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestBadCookieAndFullDisk: through gin, a malformed session cookie is a
// new visitor (200, a fresh well-formed ID), and a save on a full disk is
// the Manager's 503 with Retry-After, without the handler's answer or a
// cookie; the session saved before counts on once space is freed.
func TestBadCookieAndFullDisk(t *testing.T) {
	mnt := testenv.MountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := gin.New()
	r.Use(ginsession.Handler(httpsession.New(st)))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.FromContext(c)
		n := s.GetInt("n") + 1
		if err := s.Put("n", n); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "%d", n)
	})
	serve := func(cookie string) *http.Response {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Result()
	}
	cookieOf := func(resp *http.Response) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == "session" {
				return c
			}
		}
		return nil
	}
	for _, bad := range []string{"session=../../etc/passwd", "session=", "session=\x00\x00"} {
		resp := serve(bad)
		c := cookieOf(resp)
		if body := readBody(resp); resp.StatusCode != http.StatusOK || body != "1" || c == nil || fsstore.ValidID(c.Value) != nil {
			t.Errorf("cookie %q: status %d, body %q, Set-Cookie %v: want a new session", bad, resp.StatusCode, body, c)
		}
	}
	user := cookieOf(serve(""))
	free := testenv.FillUp(t, mnt)
	for _, cookie := range []string{"session=" + user.Value, ""} {
		resp := serve(cookie)
		if body := readBody(resp); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || body == "1" || body == "2" || cookieOf(resp) != nil {
			t.Errorf("disk full, cookie %v: status %d, Retry-After %q, body %q, Set-Cookie %v: want a bare 503", cookie != "", resp.StatusCode, resp.Header.Get("Retry-After"), body, cookieOf(resp))
		}
	}
	free()
	if resp := serve("session=" + user.Value); readBody(resp) != "2" {
		t.Errorf("once space is freed: status %d; want the user's session, 2", resp.StatusCode)
	}
}

func readBody(resp *http.Response) string {
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String()
}
