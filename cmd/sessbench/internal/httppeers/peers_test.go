package httppeers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/fakeredis"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
	"github.com/sessfs/sessfs/fsstore"
)

// TestSessfsPeerKeepsSessions: the sessfs peer's sessions carry the idle
// timeout of sessbench's directory targets and the run's TTL as their
// lifetime, as every peer's do (see TestPeersKeepSessionsAlike). With the
// store's defaults (24 minutes idle, 24 hours from creation), a round
// longer than the idle timeout would find its sessions gone and start
// them afresh, measuring something else than the rest of the run.
func TestSessfsPeerKeepsSessions(t *testing.T) {
	dir := t.TempDir()
	const ttl = 30 * time.Hour
	p, err := OpenPeer(context.Background(), PeerSessfs, PeerOptions{Dir: dir, SessionTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := httptest.NewRecorder()
	p.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://example.com"+pathNew+"?size=16", nil))
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
	if sess.Idle != bench.SessionIdle || sess.Deadline.Sub(sess.Created) != ttl {
		t.Errorf("session saved with idle timeout %v and deadline %v after creation, want %v and %v",
			sess.Idle, sess.Deadline.Sub(sess.Created), bench.SessionIdle, ttl)
	}
}

// TestPeersKeepSessionsAlike: every peer's sessions expire the run's
// TTL after their creation, and the cookie of a new one says so. scs's
// peers kept theirs 24 hours from creation (scs's default lifetime),
// sessfs's 400 days after each write and gorilla's 30 days after each: a
// run longer than a day measured scs's sessions expired, started afresh
// without their padding, against sessfs's full ones.
func TestPeersKeepSessionsAlike(t *testing.T) {
	const ttl = 50 * time.Hour
	srv := fakeredis.Start(t, 0)
	addr, err := redisaddr.Parse(srv.Addr, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range AllPeers {
		t.Run(name, func(t *testing.T) {
			p, err := OpenPeer(context.Background(), name, PeerOptions{Dir: t.TempDir(), Redis: &addr, SessionTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			req := httptest.NewRequest(http.MethodGet, "https://example.com"+pathNew+"?size=16", nil)
			w := httptest.NewRecorder()
			p.Handler.ServeHTTP(w, req)
			var maxAge time.Duration
			for _, ck := range w.Result().Cookies() {
				if ck.Name == cookieName {
					maxAge = time.Duration(ck.MaxAge) * time.Second
				}
			}
			if d := maxAge - ttl; w.Code != http.StatusOK || d < -time.Minute || d > time.Minute {
				t.Errorf("%s: %d, the session cookie's Max-Age is %v, want %v", pathNew, w.Code, maxAge, ttl)
			}
		})
	}
}
