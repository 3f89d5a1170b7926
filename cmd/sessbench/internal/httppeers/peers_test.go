package httppeers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/fsstore"
)

// TestSessfsPeerKeepsSessions: the sessfs peer's sessions carry the idle
// timeout of sessbench's directory targets and no lifetime. With the
// store's defaults (24 minutes idle, 24 hours from creation), a round
// longer than the idle timeout would find its sessions gone and start
// them afresh, measuring something else than the rest of the run.
func TestSessfsPeerKeepsSessions(t *testing.T) {
	dir := t.TempDir()
	p, err := OpenPeer(context.Background(), PeerSessfs, PeerOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := httptest.NewRecorder()
	p.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, pathNew+"?size=16", nil))
	var id string
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			id = c.Value
		}
	}
	if w.Code != http.StatusOK || id == "" {
		t.Fatalf("%s: %d, cookies %v", pathNew, w.Code, w.Result().Cookies())
	}
	// The record says what it was saved with, whoever reads it.
	subs, err := filepath.Glob(filepath.Join(dir, ".sessbench-http-*"))
	if err != nil || len(subs) != 1 {
		t.Fatalf("the peer's directory: %v %v", subs, err)
	}
	st, err := fsstore.Open(subs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sess, err := st.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Idle != bench.SessionIdle || !sess.Deadline.IsZero() {
		t.Errorf("session saved with idle timeout %v and deadline %v after creation, want %v and none",
			sess.Idle, sess.Deadline.Sub(sess.Created), bench.SessionIdle)
	}
}
