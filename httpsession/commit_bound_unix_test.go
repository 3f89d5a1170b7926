//go:build unix

package httpsession_test

import (
	"context"
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

// A commit must never wait for a lock without end. An Optimistic commit of
// a changed session locks its stripe for the compare-and-swap (committing
// a new session did too, until a first visit's save took no lock); when
// another process (on NFS: another host, possibly waiting for a stripe
// this request holds) keeps that stripe, the commit used to wait on a
// context detached from the client, forever. It must give up after the
// lock timeout with a 503.
func TestCommitLockWaitIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name        string
		lockTimeout time.Duration
		deadline    time.Duration // the request's deadline; 0: none
	}{
		{"lock timeout", 200 * time.Millisecond, 0},
		// A commit runs detached from the client's cancellation, but
		// not from the request's deadline: the server's handler timeout
		// must bound it, however long the lock timeout.
		{"request deadline", time.Hour, 200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) { testCommitLockWaitIsBounded(t, tt.lockTimeout, tt.deadline) })
	}
}

func testCommitLockWaitIsBounded(t *testing.T, lockTimeout, deadline time.Duration) {
	dir := t.TempDir()
	st, err := fsstore.Open(dir, fsstore.WithLockStripes(1), fsstore.WithLockStrategy(lock.Flock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	m := httpsession.New(st, httpsession.WithLockTimeout(lockTimeout))
	h := m.Middleware(httpsession.Optimistic)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if err := s.Put("n", s.GetInt("n")+1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	id := firstCookie(t, st)

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

	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req := httptest.NewRequest("POST", "http://example.com/login", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: id})
		if deadline > 0 {
			ctx, cancel := context.WithTimeout(req.Context(), deadline)
			defer cancel()
			req = req.WithContext(ctx)
		}
		h.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(proctest.Deadline):
		t.Fatalf("a commit still waits for a stripe held elsewhere after %v", proctest.Deadline)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}
