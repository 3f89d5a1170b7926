package webtest

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// BadCookieAndFullDisk checks a framework integration's answers to two
// failures, through h, an application whose GET / adds one to the
// session's counter "n" and answers its new value, on the cookie
// "session": a malformed session cookie is a new visitor (200, a fresh
// well-formed ID), and a save on a full disk (fill fills the store's file
// system and returns the function that frees it) is the Manager's 503
// with Retry-After, without the handler's answer or a cookie; the session
// saved before counts on once space is freed.
func BadCookieAndFullDisk(t *testing.T, h http.Handler, fill func() (free func())) {
	t.Helper()
	serve := func(cookie string) (*http.Response, string) {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var b bytes.Buffer
		b.ReadFrom(w.Result().Body)
		return w.Result(), b.String()
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
		resp, body := serve(bad)
		c := cookieOf(resp)
		if resp.StatusCode != http.StatusOK || body != "1" || c == nil || fsstore.ValidID(c.Value) != nil {
			t.Errorf("cookie %q: status %d, body %q, Set-Cookie %v: want a new session", bad, resp.StatusCode, body, c)
		}
	}
	first, _ := serve("")
	user := cookieOf(first)
	if user == nil {
		t.Fatal("a new visitor got no session cookie")
	}
	free := fill()
	for _, cookie := range []string{"session=" + user.Value, ""} {
		resp, body := serve(cookie)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || body == "1" || body == "2" || cookieOf(resp) != nil {
			t.Errorf("disk full, cookie %v: status %d, Retry-After %q, body %q, Set-Cookie %v: want a bare 503", cookie != "", resp.StatusCode, resp.Header.Get("Retry-After"), body, cookieOf(resp))
		}
	}
	free()
	if resp, body := serve("session=" + user.Value); body != "2" {
		t.Errorf("once space is freed: status %d, body %q; want the user's session, 2", resp.StatusCode, body)
	}
}

// RecordFiles lists the session records under the store directory dir.
func RecordFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			found = append(found, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// BlockShard makes the store under dir fail at its one record with a
// fault that is not the record's own: the record's shard directory is
// moved aside and a file put at its name, so every operation on the
// record fails with ENOTDIR. It returns the function that puts the
// directory back, the record in it as saved.
func BlockShard(t *testing.T, dir string) (restore func()) {
	t.Helper()
	recs := RecordFiles(t, dir)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	shard := filepath.Dir(recs[0])
	if err := os.Rename(shard, shard+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shard, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(shard); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(shard+".away", shard); err != nil {
			t.Fatal(err)
		}
	}
}
