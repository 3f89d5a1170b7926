package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// startApp runs the app on dir as its container does, with no drain at
// SIGTERM, and returns its base URL and the channel run's result arrives
// on.
func startApp(t *testing.T, ctx context.Context, dir string) (string, <-chan error) {
	t.Helper()
	return startAppArgs(t, ctx, "-dir", dir, "-addr", "127.0.0.1:0", "-metrics-addr", "", "-insecure-cookie", "-drain", "0")
}

// startAppArgs runs the app with args, which must not name a metrics
// listener, and returns as startApp does.
func startAppArgs(t *testing.T, ctx context.Context, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), done
}

// stacks returns every goroutine's stack.
func stacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// pollUntil calls cond until it holds, failing after a minute.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // poll interval, not a wait for the event
	}
}

// goroutinesWith returns the stacks of the goroutines that contain every
// one of subs.
func goroutinesWith(subs ...string) []string {
	var out []string
	for _, g := range strings.Split(stacks(), "\n\n") {
		ok := true
		for _, s := range subs {
			if !strings.Contains(g, s) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, g)
		}
	}
	return out
}

// TestShutdownFinishesRequestsInFlight checks the promise of SIGTERM: the
// requests in flight finish, and their session saves with them, within
// terminationGracePeriodSeconds. Serve returns as soon as Shutdown starts,
// so a run that returned then closed the store under those requests. Here a request waits for its session's lock (held
// by another "host") when SIGTERM comes; the lock is let go once the
// server stopped listening and run has either returned or is waiting for
// Shutdown. The request must then be answered 200 and its visit saved.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startApp(t, ctx, dir)

	// Another host holds the session's lock.
	client, held := visitHeldElsewhere(t, base, dir)
	unlocked := false
	defer func() {
		if !unlocked {
			held.Unlock()
		}
	}()

	type result struct {
		code int
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := client.Post(base+"/visit", "", nil)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- result{code: resp.StatusCode, body: string(b)}
	}()
	// The request is in the app's handler, waiting for the lock.
	pollUntil(t, "the request to wait for its session lock", func() bool {
		return len(goroutinesWith("fsstore.(*Store).Lock(", "httpsession")) > 0
	})

	cancel() // SIGTERM
	// Let the lock go once the server no longer serves, and run has
	// returned (it closed the store) or is blocked waiting for Shutdown
	// (not in Serve nor in the store's Close).
	returned := false
	pollUntil(t, "the server to stop serving", func() bool {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
			returned = true
			return true
		default:
		}
		if len(goroutinesWith("net/http.(*Server).Serve(")) > 0 {
			return false
		}
		for _, g := range goroutinesWith("examples/app.run(") {
			parked := strings.Contains(g, "[chan receive") || strings.Contains(g, "[select") || strings.Contains(g, "[semacquire") || strings.Contains(g, "[sync.")
			if parked && !strings.Contains(g, "fsstore.(*Store).Close(") {
				return true
			}
		}
		return false
	})
	held.Unlock()
	unlocked = true
	r := <-inflight
	if !returned {
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	if r.err != nil || r.code != http.StatusOK || r.body != "2\n" {
		t.Errorf("request in flight at SIGTERM: %d %q %v, want 200 %q (run returned before it was answered: %v)", r.code, r.body, r.err, "2\n", returned)
	}
}

// visitHeldElsewhere starts a session with a visit to the app at base and
// has another "host", a store of its own on dir, take the session's lock,
// which the caller releases. It returns the client, whose cookie names the
// session.
func visitHeldElsewhere(t *testing.T, base, dir string) (*http.Client, *fsstore.Locked) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 2 * time.Minute}
	resp, err := client.Post(base+"/visit", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	var id string
	for _, c := range jar.Cookies(u) {
		id = c.Value
	}
	if id == "" {
		t.Fatal("no session cookie")
	}
	other, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	held, err := other.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	return client, held
}
