//go:build linux

package httpsession_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
)

// A record refused for a permission error is rarely one record's problem:
// a shard (or all of data/) made unreadable by a chmod mistake, an EFS
// access point or IAM change. The user gets a fresh session, but the
// cookie naming the intact record is kept, so that once the permissions
// are fixed the user is still logged in. (A symlink at the record's name
// clears it: TestRefusedRecordStartsFreshSession.)
func TestUnreadableShardKeepsCookies(t *testing.T) {
	if os.Getuid() == 0 {
		reexecUnprivileged(t, "TestUnreadableShardKeepsCookies")
		return
	}
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	shard := filepath.Dir(recordPath(e.st, id))
	if err := os.Chmod(shard, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(shard, 0o700)
	// A page that only reads the session (who is logged in).
	resp := do(t, e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, httpsession.FromContext(r.Context()).GetString("user"))
	})), id)
	os.Chmod(shard, 0o700) // the operator fixes it
	if c := sessionCookie(resp); c != nil && c.MaxAge < 0 {
		if _, err := e.st.Load(t.Context(), id); err == nil {
			t.Errorf("status %d: the response expired the cookie of a session whose record is intact (only its shard was unreadable for a while): the user is logged out for good", resp.StatusCode)
		}
	}
}

// reexecUnprivileged runs test name as uid 65534 (root reads anything).
func reexecUnprivileged(t *testing.T, name string) {
	t.Helper()
	t.Logf("as uid 65534:\n%s", proctest.RerunUnprivileged(t, name))
}
