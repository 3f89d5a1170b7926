//go:build unix

package httpsession_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// A commit must never wait for a lock without end. Committing a new or
// renewed session locks the fresh ID's stripe; when another process (on
// NFS: another host, possibly waiting for a stripe this request holds)
// keeps that stripe, the commit used to wait on a context detached from the
// client, forever. It must give up after the lock timeout with a 503.
func TestCommitLockWaitIsBounded(t *testing.T) {
	dir := t.TempDir()
	st, err := fsstore.Open(dir, fsstore.WithLockStripes(1), fsstore.WithLockStrategy(lock.Flock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	// Another owner holds the only stripe: a second open file description
	// of its lock file, as another process would have.
	f, err := os.OpenFile(filepath.Join(dir, fsstore.LockDir, "0000"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	m := httpsession.New(st, httpsession.WithLockTimeout(200*time.Millisecond))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if err := s.Put("user", "alice"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, httptest.NewRequest("POST", "http://example.com/login", nil))
	}()
	select {
	case <-done:
	case <-time.After(proctest.Deadline):
		t.Fatalf("a new session's commit still waits for a stripe held elsewhere after %v", proctest.Deadline)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}
