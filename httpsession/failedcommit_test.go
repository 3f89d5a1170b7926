package httpsession_test

// A commit that fails when the response starts is answered by the error
// handler (503/500): nothing the request changed may be saved after that
// (a later Release once saved it, and after Renew deleted the record the
// client's cookie names), and Renew must fail.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// blockRecord makes every write of id's record fail (its path becomes a
// non-empty directory, so the rename that publishes a save fails) until
// the returned function is called: a stand-in for a transient file server
// failure.
func blockRecord(t *testing.T, st *fsstore.Store, id string) (unblock func()) {
	t.Helper()
	p := recordPath(st, id)
	if err := os.Rename(p, p+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(p, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	done := false
	unblock = func() {
		if done {
			return
		}
		done = true
		if err := os.RemoveAll(p); err != nil {
			t.Error(err)
		}
		if err := os.Rename(p+".aside", p); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(unblock)
	return unblock
}

// TestReleaseAfterFailedCommit: after the error handler answered
// for a commit that failed at response start, Release must not save the
// change the client was told failed.
func TestReleaseAfterFailedCommit(t *testing.T) {
	t.Run("exclusive save fails once", func(t *testing.T) {
		e := newEnv(t, nil)
		id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value // n = 1
		var writeErr, relErr error
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			if err := s.Put("n", 99); err != nil {
				t.Fatal(err)
			}
			unblock := blockRecord(t, e.st, id)
			_, writeErr = fmt.Fprint(w, "saved 99") // commit fails: error answer
			unblock()                               // the file server is back
			relErr = s.Release()                    // e.g. a long handler releasing early
		}))
		resp := do(t, h, id)
		if resp.StatusCode < 500 || writeErr == nil {
			t.Fatalf("status %d, write error %v: want the error answer", resp.StatusCode, writeErr)
		}
		sess, err := e.st.Load(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(sess.Data), "99") {
			t.Errorf("client answered %d, yet Release (err %v) saved the change: record %s", resp.StatusCode, relErr, sess.Data)
		}
		if relErr == nil {
			t.Errorf("Release after the failed commit returned nil")
		}
	})

	t.Run("optimistic renew, old record's lock busy once", func(t *testing.T) {
		e := newEnv(t, nil, httpsession.WithLockTimeout(50*time.Millisecond))
		id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
		lk, err := e.st.Lock(t.Context(), id, fsstore.Exclusive) // another request's
		if err != nil {
			t.Fatal(err)
		}
		var relErr error
		h := e.m.Middleware(httpsession.Optimistic)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			s.Put("user", "ada")
			if err := s.Renew(); err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(w, "logged in") // renew waits for the lock: 503
			lk.Unlock()                // the other request ends
			relErr = s.Release()
		}))
		resp := do(t, h, id)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", resp.StatusCode)
		}
		if c := sessionCookie(resp); c != nil {
			t.Fatalf("the 503 carries a session cookie %q", c.Value)
		}
		// The client keeps its old cookie: it must still name its session.
		if _, err := e.st.Load(t.Context(), id); err != nil {
			t.Errorf("client answered 503 with no new cookie, yet its session is gone (Release err %v): %v", relErr, err)
		}
	})
}

// TestRenewAfterFailedCommit: once the error handler answered, the
// response has started; Renew must say so, not return nil for a renewal
// that can never reach the client.
func TestRenewAfterFailedCommit(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	var renewErr error
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("n", 99)
		unblock := blockRecord(t, e.st, id)
		fmt.Fprint(w, "x")
		unblock()
		renewErr = s.Renew()
	}))
	resp := do(t, h, id)
	if resp.StatusCode < 500 {
		t.Fatalf("status %d, want the error answer", resp.StatusCode)
	}
	if renewErr == nil {
		t.Errorf("Renew after the error answer returned nil")
	}
}

// TestNoCommitAtEndAfterFailedCommit: without Release, the end-of-request
// commit does not save either after a failed start.
func TestNoCommitAtEndAfterFailedCommit(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("n", 99)
		unblock := blockRecord(t, e.st, id)
		fmt.Fprint(w, "x")
		unblock()
		fmt.Fprint(w, "y") // errDiscarded, no commit
	}))
	if resp := do(t, h, id); resp.StatusCode < 500 {
		t.Fatalf("status %d, want the error answer", resp.StatusCode)
	}
	sess, err := e.st.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sess.Data), "99") {
		t.Errorf("the end-of-request commit saved the change after the error answer: %s", sess.Data)
	}
}
