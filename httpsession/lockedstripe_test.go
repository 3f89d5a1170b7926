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

// TestLockTimeoutLogNamesStripeHolders: the lock a request waits for is
// its session's stripe, shared with other sessions, and taken by sessgc's
// sweep and rekey too. When another process (here a second Store on the
// directory, whose locks contend as another host's do) holds the stripe
// for another user's session, the 503's log line must not blame a request
// of the same user alone: it names the stripe's other holders.
func TestLockTimeoutLogNamesStripeHolders(t *testing.T) {
	e := newEnv(t, []fsstore.Option{fsstore.WithLockStripes(1)}, httpsession.WithLockTimeout(100*time.Millisecond))
	h := e.m.Handler(counter())
	victim := mustCookie(t, do(t, h, "")).Value
	other := mustCookie(t, do(t, h, "")).Value // another user's session, on the one stripe

	elsewhere, err := fsstore.Open(e.st.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer elsewhere.Close()
	l, err := elsewhere.Lock(context.Background(), other, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()

	resp := do(t, h, victim)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	log := e.log.String()
	for _, want := range []string{"another session that shares its lock stripe", "sessgc", "Release", "ReadOnly"} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q, want it to say %q", log, want)
		}
	}
}
