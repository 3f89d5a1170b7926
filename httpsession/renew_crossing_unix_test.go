//go:build unix

package httpsession_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

const crossingEnv = "SESSFS_HTTPSESSION_CROSSING"

// crossingOpts open the store as parent and children share it: two lock
// stripes, so that the test can put sessions on either, locked with
// strategy ("flock" or "lease").
func crossingOpts(strategy string) ([]fsstore.Option, error) {
	s, err := lock.ParseStrategy(strategy)
	if err != nil {
		return nil, err
	}
	return []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithLockStripes(2), fsstore.WithLockStrategy(s)}, nil
}

// TestCrossingProcess is the child of TestFreshIDAcrossStripes. It serves
// one request with the cookie $SESSFS_CROSSING_HOLD in Exclusive mode: the
// handler reads the session (taking its lock), says "holding", waits for a
// line on stdin, then logs in (role renew: Renew) or out and in again (role
// destroy: Destroy and a new value); role renew-then-stream logs in, starts
// the response and then changes the session again. The first fresh IDs it draws are those
// in $SESSFS_CROSSING_FRESH; it says "saved" and the new session's ID.
func TestCrossingProcess(t *testing.T) {
	proctest.Main(t, crossingEnv, func(role string) error {
		opts, err := crossingOpts(os.Getenv("SESSFS_CROSSING_STRATEGY"))
		if err != nil {
			return err
		}
		st, err := fsstore.Open(os.Getenv("SESSFS_CROSSING_DIR"), opts...)
		if err != nil {
			return err
		}
		defer st.Close()
		// A lock timeout far beyond the test's deadline: a commit that
		// waits for a stripe the other child holds hangs the test.
		m := httpsession.New(st, httpsession.WithLockTimeout(time.Hour))
		drawn := strings.Fields(os.Getenv("SESSFS_CROSSING_FRESH"))
		httpsession.SetIDGen(m, func() (string, error) {
			if len(drawn) > 0 {
				id := drawn[0]
				drawn = drawn[1:]
				return id, nil
			}
			return fsstore.NewID()
		})
		stdin := bufio.NewReader(os.Stdin)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			n := s.GetInt("n")
			proctest.Say("holding")
			if _, err := stdin.ReadString('\n'); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			var err error
			if role != "destroy" {
				err = s.Renew()
			} else {
				err = s.Destroy()
			}
			if err == nil {
				err = s.Put("n", n+1)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if role == "renew-then-stream" {
				// The response starts (the fresh session is published)
				// and the session changes again: saved at the end under
				// the fresh ID, with the old ID's lock still held.
				w.(http.Flusher).Flush()
				if err := s.Put("late", true); err != nil {
					panic(err)
				}
			}
		}))
		req := httptest.NewRequest("GET", "http://example.com/", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: os.Getenv("SESSFS_CROSSING_HOLD")})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == "session" && c.MaxAge >= 0 && c.Value != "" {
				proctest.Say("saved %s", c.Value)
				return nil
			}
		}
		return errors.New("no session cookie set")
	})
}

// TestFreshIDAcrossStripes: two processes each hold a session's lock, on
// different stripes, and log in at once; the first fresh ID each draws is
// on the stripe the other holds. A commit that waited for the fresh ID's
// stripe with its own held (as CompareAndSwap does) waited for the other,
// which waited for it: both log-ins hung until the lock timeout and
// failed. Both must succeed, with a fresh session holding the value; also
// when more fresh IDs drawn are on the other's stripe (busy), and when the
// session changes again after the response started; with flock and with
// lease files.
func TestFreshIDAcrossStripes(t *testing.T) {
	type crossing struct {
		name, role, strategy string
		busyDraws            int // fresh IDs each draws first on the other's stripe
	}
	var cases []crossing
	for _, strategy := range []string{"flock", "lease"} {
		for _, role := range []string{"renew", "destroy", "renew-then-stream"} {
			cases = append(cases, crossing{strategy + "/" + role, role, strategy, 1})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, err := crossingOpts(tc.strategy)
			if err != nil {
				t.Fatal(err)
			}
			st, err := fsstore.Open(dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// a and b on different stripes; freshA on b's, freshB on a's.
			ids := seedSessions(t, st, 1)
			a := ids[0]
			la, err := st.TryLock(a, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			var b string
			var freshA, freshB []string
			for b == "" || len(freshA) < tc.busyDraws || len(freshB) < tc.busyDraws {
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				switch same := la.SharesStripe(id); {
				case !same && b == "":
					b = id
				case !same && len(freshA) < tc.busyDraws:
					freshA = append(freshA, id)
				case same && len(freshB) < tc.busyDraws:
					freshB = append(freshB, id)
				}
			}
			if err := la.Unlock(); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(t.Context(), &fsstore.Session{ID: b, Data: []byte(`{"n":1}`)}); err != nil {
				t.Fatal(err)
			}

			start := func(hold string, fresh []string) *proctest.Child {
				return proctest.Start(t, "TestCrossingProcess", crossingEnv, tc.role,
					[]string{"SESSFS_CROSSING_DIR=" + dir, "SESSFS_CROSSING_STRATEGY=" + tc.strategy, "SESSFS_CROSSING_HOLD=" + hold, "SESSFS_CROSSING_FRESH=" + strings.Join(fresh, " ")})
			}
			kidA, kidB := start(a, freshA), start(b, freshB)
			kidA.Expect(t, "holding")
			kidB.Expect(t, "holding")
			kidA.Send(t, "go")
			kidB.Send(t, "go")
			// A liveness check only: the children's lock timeout is an
			// hour, so a deadlock shows as a child still running.
			for name, kid := range map[string]*proctest.Child{"A": kidA, "B": kidB} {
				held := a
				if name == "B" {
					held = b
				}
				line := kid.ExpectWithin(t, "saved", 30*time.Second)
				if err := kid.Stop(30 * time.Second); err != nil {
					t.Fatalf("child %s: %v", name, err)
				}
				id := strings.TrimPrefix(line, "saved ")
				if id == a || id == b {
					t.Errorf("child %s kept its session ID; want a fresh one", name)
				}
				if sess, err := st.Load(t.Context(), id); err != nil || !strings.Contains(string(sess.Data), `"n":2`) ||
					tc.role == "renew-then-stream" && !strings.Contains(string(sess.Data), `"late":true`) {
					t.Errorf("child %s's new session: %v, %v; want n=2 (and late=true after streaming)", name, sess, err)
				}
				// Drawn on the held lock's stripe: no save of it in that
				// request waits for another process.
				lk, err := st.TryLock(held, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				if !lk.SharesStripe(id) {
					t.Errorf("child %s's new session is not on the stripe of the lock it held", name)
				}
				lk.Unlock()
			}
		})
	}
}
