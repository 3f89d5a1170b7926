//go:build unix

package httpsession_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

const holderEnv = "SESSFS_HTTPSESSION_HOLDER"

// TestHolderProcess is the child of TestDeadLockHolder: it opens the store
// in $SESSFS_HOLDER_DIR with the strategy its role names, locks the
// session $SESSFS_HOLDER_ID, says so and waits to be killed.
func TestHolderProcess(t *testing.T) {
	proctest.Main(t, holderEnv, func(role string) error {
		st, err := fsstore.Open(os.Getenv("SESSFS_HOLDER_DIR"), holderOpts(role, time.Second)...)
		if err != nil {
			return err
		}
		if _, err := st.Lock(context.Background(), os.Getenv("SESSFS_HOLDER_ID"), fsstore.Exclusive); err != nil {
			return err
		}
		proctest.Say("locked")
		select {} // until killed
	})
}

// holderOpts returns the store options of a process with the given lock
// strategy and, for lock.Lease, lease length: a second for the holder, so
// that its lease runs out soon after it is killed, and a minute for the
// test process, which must keep the lock its request then takes however
// slowly a busy machine runs the request (a lease records its own expiry:
// the holder's short one is broken on time all the same).
func holderOpts(strategy string, ttl time.Duration) []fsstore.Option {
	opts := []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithIdleTimeout(10 * time.Minute)}
	if strategy == lock.Lease.String() {
		opts = append(opts, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(ttl))
	}
	return opts
}

// TestDeadLockHolder: the process holding a user's session lock (another
// application instance on the store) is killed mid-request. While it
// lives, the user's request waits its lock timeout and gets a 503 with
// Retry-After, and nothing of the session changes. Once it is dead (flock:
// the kernel drops its lock; lease: its lease runs out) the next request
// gets the session, with everything saved before, and saves.
func TestDeadLockHolder(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			st, err := fsstore.Open(dir, holderOpts(strategy.String(), time.Minute)...)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			id := seedSessions(t, st, 1)[0]
			kid := proctest.Start(t, "TestHolderProcess", holderEnv, strategy.String(), []string{"SESSFS_HOLDER_DIR=" + dir, "SESSFS_HOLDER_ID=" + id})
			kid.Expect(t, "locked")

			short := httpsession.New(st, httpsession.WithLockTimeout(50*time.Millisecond))
			resp := do(t, short.Handler(counter()), id)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || sessionCookie(resp) != nil {
				t.Errorf("while the holder lives: status %d, Retry-After %q, cookie %v: want 503 with Retry-After, no cookie",
					resp.StatusCode, resp.Header.Get("Retry-After"), sessionCookie(resp))
			}

			if err := kid.Cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := kid.Wait(); err == nil {
				t.Fatal("the holder exited cleanly; want it killed")
			}
			// The lease outlives its holder by its TTL (a second): the
			// request waits for it, well within this lock timeout.
			m := httpsession.New(st, httpsession.WithLockTimeout(time.Minute))
			resp = do(t, m.Handler(counter()), id)
			if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "2" {
				t.Fatalf("after the holder died: status %d, body %q; want 200 and the session's counter, 2", resp.StatusCode, got)
			}
			if c := sessionCookie(resp); c != nil {
				t.Errorf("after the holder died: Set-Cookie %v, want none (same session)", c)
			}
			if sess, err := st.Load(t.Context(), id); err != nil || string(sess.Data) != "{\n\"n\":2\n}" {
				t.Errorf("stored session: %v, %v", sess, err)
			}
		})
	}
}
