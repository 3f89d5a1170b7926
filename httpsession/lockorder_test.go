package httpsession_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestOwnSessionCallsNeverWaitForThemselves: a handler that logs in
// (Renew), out (Destroy), out and in again (Destroy, then a value), or
// renews and then commits early (Release) or late (after the response
// started), holds the old ID's lock (Exclusive) or none (Optimistic) while
// the commit locks the old ID and writes a fresh one. With one lock stripe
// every ID shares the stripe the request holds, with two half of them do:
// under either lock strategy, nothing the commit takes may wait for what
// the request itself holds. The lock timeout is a hang detector: a wait on
// itself answers 503 once it runs out. Afterwards the old ID's lock is
// free (a request for it is served), so nothing was left held.
func TestOwnSessionCallsNeverWaitForThemselves(t *testing.T) {
	strategies := []lock.Strategy{lock.Flock, lock.Lease}
	if runtime.GOOS == "windows" {
		strategies = []lock.Strategy{lock.Lease} // no flock there
	}
	type action struct {
		name    string
		do      func(w http.ResponseWriter, s *httpsession.Session, n int) error
		newID   bool // the request ends with a session under a fresh ID
		oldGone bool // the old ID names no session afterwards
	}
	actions := []action{
		{"renew", func(_ http.ResponseWriter, s *httpsession.Session, n int) error {
			if err := s.Renew(); err != nil {
				return err
			}
			return s.Put("n", n+1)
		}, true, true},
		{"destroy", func(_ http.ResponseWriter, s *httpsession.Session, _ int) error {
			return s.Destroy()
		}, false, true},
		{"destroy-then-put", func(_ http.ResponseWriter, s *httpsession.Session, n int) error {
			if err := s.Destroy(); err != nil {
				return err
			}
			return s.Put("n", n+1)
		}, true, true},
		{"renew-then-release", func(_ http.ResponseWriter, s *httpsession.Session, n int) error {
			if err := s.Renew(); err != nil {
				return err
			}
			if err := s.Put("n", n+1); err != nil {
				return err
			}
			return s.Release()
		}, true, true},
		{"renew-then-stream", func(w http.ResponseWriter, s *httpsession.Session, n int) error {
			if err := s.Renew(); err != nil {
				return err
			}
			if err := s.Put("n", n); err != nil {
				return err
			}
			// The fresh session is published with the response's
			// start; its change after that is saved at the end, with
			// the old ID's lock still held (Exclusive).
			w.(http.Flusher).Flush()
			return s.Put("n", n+1)
		}, true, true},
		{"put", func(_ http.ResponseWriter, s *httpsession.Session, n int) error {
			return s.Put("n", n+1)
		}, false, false},
	}
	for _, strategy := range strategies {
		for _, stripes := range []int{1, 2} {
			for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
				for _, a := range actions {
					t.Run(fmt.Sprintf("%v/stripes=%d/%v/%s", strategy, stripes, mode, a.name), func(t *testing.T) {
						st, err := fsstore.Open(t.TempDir(), fsstore.WithLockStrategy(strategy), fsstore.WithLockStripes(stripes), fsstore.WithDurability(fsstore.DurabilityNone))
						if err != nil {
							t.Fatal(err)
						}
						defer st.Close()
						m := httpsession.New(st, httpsession.WithMode(mode), httpsession.WithLockTimeout(5*time.Second), httpsession.WithLogger(slog.New(slog.DiscardHandler)))
						read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
						}))
						act := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							s := httpsession.FromContext(r.Context())
							if err := a.do(w, s, s.GetInt("n")); err != nil {
								http.Error(w, err.Error(), http.StatusInternalServerError)
							}
						}))
						old := seedSession(t, m, map[string]any{"n": 1})
						resp := do(t, act, old)
						if got := body(t, resp); resp.StatusCode != http.StatusOK {
							t.Fatalf("status %d %q, want 200", resp.StatusCode, got)
						}
						c := sessionCookie(resp)
						switch {
						case a.newID && (c == nil || c.MaxAge < 0 || c.Value == old):
							t.Fatalf("cookie %v, want a fresh session's", c)
						case a.newID:
							if got := body(t, do(t, read, c.Value)); got != "2" {
								t.Errorf("the fresh session holds n=%s, want 2", got)
							}
						case a.oldGone && (c == nil || c.MaxAge >= 0):
							t.Errorf("cookie %v, want it expired", c)
						}
						want := "2"
						if a.oldGone {
							want = "0"
						}
						// Served at all: the request left the old ID's lock free.
						resp = do(t, read, old)
						if got := body(t, resp); resp.StatusCode != http.StatusOK || got != want {
							t.Errorf("the old ID afterwards: status %d, n=%s; want 200, n=%s", resp.StatusCode, got, want)
						}
					})
				}
			}
		}
	}
}

// TestStoreLockOfOwnSessionInsideRequest pins down what the package doc
// ("Writing the store from other code") says of a handler that locks its
// own session through the store: in Exclusive mode the request holds the
// lock, and the store's Lock of it waits for the request itself until its
// context ends (ErrLocked), never for good; in Optimistic mode the
// request holds none, and it does not wait.
//
// The Lock's deadline passes once it is seen waiting (testenv.Parked): a
// timer's passed, on a loaded machine, before the Lock's first attempt,
// and the error, without ErrLocked, showed nothing either way.
func TestStoreLockOfOwnSessionInsideRequest(t *testing.T) {
	for _, tc := range []struct {
		mode    httpsession.Mode
		waitsOn bool
	}{
		{httpsession.Exclusive, true},
		{httpsession.Optimistic, false},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			m := httpsession.New(st, httpsession.WithMode(tc.mode), httpsession.WithLogger(slog.New(slog.DiscardHandler)))
			id := seedSession(t, m, map[string]any{"n": 1})
			var (
				lockErr error
				waited  bool // the Lock was seen waiting before its deadline passed
			)
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				httpsession.FromContext(r.Context()).GetInt("n") // the first use: Exclusive mode locks here
				ctx := testenv.NewDeadline(r.Context())
				waits := testenv.ParkedAnew(lockAcquire)
				type locked struct {
					lk  *fsstore.Locked
					err error
				}
				got := make(chan locked, 1)
				go func() {
					lk, err := st.Lock(ctx, id, fsstore.Exclusive)
					got <- locked{lk, err}
				}()
				// Optimistic mode: the Lock returns without waiting.
				for giveUp := time.Now().Add(time.Minute); !waited; waited = waits() {
					select {
					case l := <-got:
						if lockErr = l.err; lockErr == nil {
							l.lk.Unlock()
						}
						return
					default:
					}
					if time.Now().After(giveUp) {
						break
					}
					time.Sleep(time.Millisecond) // polling for an event, bounded above
				}
				ctx.Expire()
				select {
				case l := <-got:
					if lockErr = l.err; lockErr == nil {
						l.lk.Unlock()
					}
				case <-time.After(waitHang):
					// Waiting for good, for the request itself:
					// returning lets the request release its lock.
					lockErr = fmt.Errorf("still waiting %v after its deadline passed", waitHang)
					go func() {
						if l := <-got; l.err == nil {
							l.lk.Unlock()
						}
					}()
				}
			}))
			if resp := do(t, h, id); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if tc.waitsOn && !waited {
				t.Errorf("the store's Lock of the request's own session: %v, and not waiting a minute after it began; want it to wait until its context ends", lockErr)
			} else if tc.waitsOn && !(errors.Is(lockErr, fsstore.ErrLocked) && errors.Is(lockErr, context.DeadlineExceeded)) {
				t.Errorf("the store's Lock of the request's own session: %v; want the wait to end with the context", lockErr)
			}
			if !tc.waitsOn && lockErr != nil {
				t.Errorf("the store's Lock of the request's own session: %v; want the lock, which the request does not hold", lockErr)
			}
		})
	}
}
