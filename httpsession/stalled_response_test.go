package httpsession_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/lock"
)

// TestDeadlineReleasesStalledResponsesLock: a client that sends its
// request and then stops reading the answer keeps the handler in Write
// for as long as the connection stays open, and one that trickles its
// body keeps a handler that reads it after using the session in Read:
// no request deadline ends either (only http.Server's WriteTimeout and
// ReadTimeout would). Once the deadline has passed nothing the request
// changes can be saved, so its lock guards nothing: it is released then,
// and neither the user's next request nor another host's request for a
// session of the same lock stripe waits out its lock timeout for a client
// that stalls on purpose. A change the stalled handler makes afterwards
// fails at once, and the session keeps what the next request saved;
// under either lock strategy.
func TestDeadlineReleasesStalledResponsesLock(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) { testDeadlineReleasesStalledResponsesLock(t, strategy) })
	}
}

func testDeadlineReleasesStalledResponsesLock(t *testing.T, strategy lock.Strategy) {
	for _, stall := range []struct {
		name    string
		request string // after the request line, with %s for the session ID
		wait    func(w http.ResponseWriter, r *http.Request)
	}{
		{
			name:    "answer not read",
			request: "Host: app\r\nCookie: session=%s\r\n\r\n",
			wait: func(w http.ResponseWriter, r *http.Request) {
				// Far more than the sockets buffer: Write blocks while
				// the client does not read, until the test closes it.
				chunk := make([]byte, 64<<10)
				for range 1 << 14 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			},
		},
		{
			name:    "body trickling",
			request: "Host: app\r\nCookie: session=%s\r\nContent-Length: 1000\r\n\r\nc",
			wait: func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
			},
		},
	} {
		t.Run(stall.name, func(t *testing.T) {
			// The stalled handler must lock the session before its
			// deadline: one that passed first (a loaded machine) left
			// no lock to release, and the run showed nothing, as the
			// code before the release at the deadline passed it too. It
			// is run again with a later deadline.
			for d := 100 * time.Millisecond; !stallPastDeadline(t, strategy, stall.request, stall.wait, d); d *= 4 {
				if d > 10*time.Second {
					t.Fatalf("the stalled handler never locked its session before a deadline of %v", d)
				}
			}
		})
	}
}

// stallPastDeadline runs one case of TestDeadlineReleasesStalledResponsesLock
// whose stalled request has the deadline d; shown is false when the deadline
// passed before its handler locked the session.
func stallPastDeadline(t *testing.T, strategy lock.Strategy, request string, wait func(w http.ResponseWriter, r *http.Request), d time.Duration) (shown bool) {
	dir := t.TempDir()
	host := func() (*fsstore.Store, *httpsession.Manager) {
		// One stripe: every session shares the lock file, as
		// two sessions of a stripe do on two hosts.
		st, err := fsstore.Open(dir, fsstore.WithLockStripes(1), fsstore.WithLockStrategy(strategy), fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, httpsession.New(st, httpsession.WithLockTimeout(waitHang))
	}
	stA, mA := host()
	_, mB := host()
	ids := seedSessions(t, stA, 2)

	entered := make(chan error, 1) // why the stalled handler could not lock the session; nil when it did
	putErr := make(chan error, 1)
	routes := func(m *httpsession.Manager) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /", counter())
		mux.HandleFunc("POST /stall", func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			_, err := s.Get("n", new(int)) // locks the session
			entered <- err
			if err != nil {
				return
			}
			wait(w, r)
			putErr <- s.Put("n", 100)
		})
		sessions := m.Handler(mux)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			timeout := waitHang
			if r.URL.Path == "/stall" {
				timeout = d
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			sessions.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	srvA, srvB := serve(t, routes(mA)), serve(t, routes(mB))

	conn, err := net.Dial("tcp", strings.TrimPrefix(srvA.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST /stall HTTP/1.1\r\n"+request, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := <-entered; errors.Is(err, context.DeadlineExceeded) {
		return false
	} else if err != nil {
		t.Fatalf("the stalled request's session: %v", err)
	}

	for _, tc := range []struct {
		name, url, id string
	}{
		{"the same user on the same host", srvA.URL, ids[0]},
		{"another user of the stripe on another host", srvB.URL, ids[1]},
	} {
		resp := call(t, client(t, srvA), "GET", tc.url, tc.id, nil)
		if got := body(t, resp); resp.StatusCode != 200 || got != "2" {
			t.Errorf("%s while a request stalls past its deadline: %d %q, want 200 \"2\"", tc.name, resp.StatusCode, got)
		}
	}

	conn.Close()
	select {
	case err := <-putErr:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Put after the deadline, the lock released: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(waitHang):
		t.Fatal("the stalled handler did not end when its client went away")
	}
	if rec, err := stA.Load(t.Context(), ids[0]); err != nil || compact(rec.Data) != `{"n":2}` {
		t.Errorf("session after the stalled request: %v %s, want the next request's save", err, rec.Data)
	}
	return true
}
