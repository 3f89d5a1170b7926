package httpsession_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestHijackReleasesLock: a hijacked connection (a websocket) lives as long
// as it likes, hours past its request. Hijack saves the session and
// releases its lock, as Release does: held until the handler returned, it
// made every other request of that user (another tab, a reload) wait out
// its lock timeout and answer 503 for as long as the socket stayed open. A
// change after the Hijack fails with ErrReleased, as after Release.
func TestHijackReleasesLock(t *testing.T) {
	for _, started := range []bool{false, true} {
		t.Run(fmt.Sprintf("response started %v", started), func(t *testing.T) { testHijackReleasesLock(t, started) })
	}
}

func testHijackReleasesLock(t *testing.T, started bool) {
	// The lock timeout bounds how long the old code keeps the second
	// request waiting; it is no threshold of the test.
	e := newEnv(t, nil, httpsession.WithLockTimeout(2*time.Second))
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	closeSocket := make(chan struct{})
	afterHijack := make(chan error, 1)
	mux := http.NewServeMux()
	mux.Handle("/", counter())
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if s.GetInt("n") != 1 {
			t.Errorf("the socket's request: n = %d, want 1", s.GetInt("n"))
		}
		s.Put("socket", true)
		if started {
			// A stream that carries on over the raw connection.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		if !started {
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
		}
		<-closeSocket
		afterHijack <- s.Put("late", true)
	})
	srv := serve(t, e.m.Handler(mux))

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nCookie: session=%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", id)
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "101") && !strings.Contains(status, "200") {
		t.Fatalf("the upgrade's answer: %q, %v", status, err)
	}

	// The socket is open: the user's other requests go on.
	resp := call(t, client(t, srv), "GET", srv.URL+"/", id, nil)
	if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "2" {
		t.Errorf("another request of the user while the socket is open: %d %q; want 200 \"2\"", resp.StatusCode, strings.TrimSpace(got))
	}
	close(closeSocket)
	if err := <-afterHijack; !errors.Is(err, httpsession.ErrReleased) {
		t.Errorf("Put after Hijack: %v; want ErrReleased", err)
	}
	sess, err := e.st.Load(t.Context(), id)
	if err != nil || !strings.Contains(string(sess.Data), `"socket":true`) {
		t.Errorf("the change made before the Hijack: %v, %v; want saved", sess, err)
	}
}

// TestHijackFailedSaveLoggedOnce: a Hijack after the response started
// saves the changes made since as Release does, and logs a failure at
// once, since the connection may stay open for hours. The handler's return
// must not log the same failure a second time.
func TestHijackFailedSaveLoggedOnce(t *testing.T) {
	e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(1 << 10)})
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	done := make(chan struct{})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		s := httpsession.FromContext(r.Context())
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		// Too large for the store: the save at the Hijack fails.
		if err := s.Put("big", strings.Repeat("x", 4<<10)); err != nil {
			t.Errorf("Put: %v", err)
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		conn.Close()
	}))
	srv := serve(t, h)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nCookie: session=%s\r\n\r\n", id)
	<-done
	// The middleware's own work after the handler returned ends with the
	// handler's goroutine; wait for that request to be done with.
	srv.Close()
	logged := e.log.String()
	if n := strings.Count(logged, "too large"); n != 1 {
		t.Errorf("the failed save logged %d times, want once:\n%s", n, logged)
	}
}
