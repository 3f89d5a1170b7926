package httpsession_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestLockTimeoutLogSaysWhatToDo: a request that waited out the lock
// timeout for its user's session answers 503, and the line it logs says
// what held it (another request of the same user) and what to do about it
// (Release in long handlers, ReadOnly routes, the timeout), not only the
// lock package's "held by another owner while waiting".
func TestLockTimeoutLogSaysWhatToDo(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithLockTimeout(100*time.Millisecond))
	h := e.m.Handler(counter())
	first := do(t, h, "")
	c := sessionCookie(first)
	if c == nil {
		t.Fatal("no session cookie")
	}
	// Another request of the user's, on this host or another, holds the
	// session's lock.
	l, err := e.st.Lock(context.Background(), c.Value, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	resp := do(t, h, c.Value)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	log := e.log.String()
	for _, want := range []string{"another request", "Release", "ReadOnly", "WithLockTimeout"} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q, want it to say %q", log, want)
		}
	}
}
