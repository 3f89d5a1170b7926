package gorillastore_test

import (
	"errors"
	"net/http"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/webtest"
)

// A load that fails in a way neither the record's (missing, damaged,
// refused) nor on httpsession's list of passing failures (an errno it does
// not know, such as EREMOTEIO from an NFS server fault or EKEYEXPIRED from
// expired Kerberos credentials; here ENOTDIR, a shard directory replaced
// by a file) says nothing of the session either: Save must refuse the
// empty session Get returned, as after an outage. Taken for no session,
// the application's Save issued a new ID and cookie, and the user was
// logged out for good once the fault was fixed.
func TestUnknownLoadFailureIsNotNoSession(t *testing.T) {
	dir := t.TempDir()
	s, st := open(t, dir, fakeclock.New())
	h := counterApp(s)
	user := cookieOf(t, serveCookie(h, ""), "app")
	restore := webtest.BlockShard(t, st.Dir())

	_, err := s.New(request(user), "app")
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("New: %v, want the load's ENOTDIR", err)
	}
	w := serveCookie(h, "app="+user.Value)
	if w.Code == http.StatusOK || len(w.Result().Cookies()) != 0 {
		t.Errorf("during the failure: status %d, body %q, cookies %v; want an error and no cookie", w.Code, w.Body, w.Result().Cookies())
	}

	restore()
	if w := serveCookie(h, "app="+user.Value); w.Code != http.StatusOK || w.Body.String() != "2" {
		t.Errorf("once fixed: status %d, body %q; want the user's session, 2", w.Code, w.Body)
	}
}
