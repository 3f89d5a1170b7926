package httpsession_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestOptimisticCountsEveryAcceptedChange: concurrent requests increment
// one session's counter, most in Optimistic mode, each client retrying on
// 409 as the package doc tells it to; mixed in, as one application's
// routes do, Exclusive requests, ReadOnly reads that touch the session as
// the clock moves on, and log ins that renew its ID (the clients follow
// the cookie). The final counter is the number of 200s: a change answered
// 200 is never lost, and one answered 409 never saved. A log in that finds
// no session (its cookie names the old ID of one renewed a moment ago)
// answers 409 too: a renewal there would start a session of its own (see
// Session.Renew).
func TestOptimisticCountsEveryAcceptedChange(t *testing.T) {
	const workers, each = 6, 15
	for _, tc := range []struct {
		name                   string
		exclusive, read, renew bool
		touch                  bool // the clock moves on, and reads touch the session
	}{
		{name: "optimistic"},
		{name: "with-exclusive", exclusive: true},
		{name: "with-readonly-touching", read: true, touch: true},
		{name: "with-renew", renew: true},
		{name: "all", exclusive: true, read: true, renew: true, touch: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A minute's idle timeout: a read touches a session not saved
			// for 30 s. The clock moves 140 s in all, 35 s at a time: less
			// than the 3 minutes a renewed ID's marker lasts (lock timeout
			// + 2 min), and than the idle timeout.
			e := newEnv(t, []fsstore.Option{fsstore.WithIdleTimeout(time.Minute)}, httpsession.WithLockTimeout(time.Minute))
			var (
				mu  sync.Mutex
				cur = firstCookie(t, e.st, httpsession.WithClock(e.clk.Now)) // the counter at 1
				by  = map[int][]string{}                                     // the requests that answered each value
			)
			cookie := func() string { mu.Lock(); defer mu.Unlock(); return cur }
			incr := func(renew bool) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					if renew && s.IsNew() {
						http.Error(w, "no session to log in from", http.StatusConflict)
						return
					}
					n := s.GetInt("n") + 1
					if err := s.Put("n", n); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					if renew {
						if err := s.Renew(); err != nil {
							http.Error(w, err.Error(), http.StatusInternalServerError)
							return
						}
					}
					fmt.Fprintf(w, "%d %v renew=%v", n, s.Mode(), renew)
				})
			}
			read := e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			}))
			var ok, conflicts atomic.Int64
			var wg sync.WaitGroup
			for g := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						mode := httpsession.Optimistic
						if tc.exclusive && (g+i)%3 == 0 {
							mode = httpsession.Exclusive
						}
						if tc.read && (g+i)%4 == 1 {
							if tc.touch && g == 0 {
								// Past half the idle timeout: the read
								// touches, unless a save comes first.
								e.clk.Advance(35 * time.Second)
							}
							body(t, do(t, read, cookie()))
						}
						h := e.m.Middleware(mode)(incr(tc.renew && (g*each+i)%11 == 0))
						for {
							resp := do(t, h, cookie())
							b := body(t, resp)
							if resp.StatusCode == http.StatusConflict {
								conflicts.Add(1)
								continue
							}
							if resp.StatusCode != http.StatusOK {
								t.Errorf("status %d: %s", resp.StatusCode, b)
								return
							}
							ok.Add(1)
							n, _ := strconv.Atoi(b[:strings.IndexByte(b, ' ')])
							mu.Lock()
							if c := sessionCookie(resp); c != nil && c.MaxAge >= 0 {
								cur = c.Value
							}
							by[n] = append(by[n], b)
							mu.Unlock()
							break
						}
					}
				}()
			}
			wg.Wait()
			for n, l := range by {
				if len(l) > 1 {
					t.Errorf("counter value %d answered by %d requests: %q", n, len(l), l)
				}
			}
			if got, want := body(t, do(t, read, cookie())), strconv.Itoa(1+int(ok.Load())); got != want {
				t.Errorf("counter %s after %d changes answered 200 (and %d answered 409), want %s", got, ok.Load(), conflicts.Load(), want)
			}
		})
	}
}
