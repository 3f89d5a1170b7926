// Package webtest runs a web application as several real processes on one
// session directory, as a fleet would, and sends them one user's
// concurrent requests: the HTTP test every framework integration (gin,
// echo, chi, gin-contrib/sessions, echo-contrib/session) shares.
//
// The application speaks a small counter protocol: POST /inc adds one to
// the session's counter and answers its new value in decimal; GET /n
// answers the value without changing it (0 for a new session). Both set
// whatever cookies the framework sets; the client sends back the cookies
// of its first response on every request, to every instance.
//
// Send, for a test of one handler in the test's own process, sends it one
// request over a real connection and returns what the client saw.
// DeadlineReleasesLock checks, through a framework's adapter, that a
// request deadline bounds how long a request holds its session's lock.
package webtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/proctest"
)

const (
	roleEnv = "SESSFS_WEBTEST_ROLE"
	dirEnv  = "SESSFS_WEBTEST_DIR"
)

// App opens the session store in dir and returns the application's
// handler and a function that closes what it opened.
type App func(dir string) (http.Handler, func() error, error)

// Instance is the body of the test function that Start names: in a child
// process it serves app on a loopback port until its standard input
// closes; in the parent it skips.
func Instance(t *testing.T, app App) {
	proctest.Main(t, roleEnv, func(string) error {
		h, closeApp, err := app(os.Getenv(dirEnv))
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: proctest.Deadline}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		proctest.Say("url http://%s", ln.Addr())
		// The parent closes stdin to stop the instance (and so does its
		// death), so a lost parent leaves no server behind.
		_, _ = io.Copy(io.Discard, os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
		defer cancel()
		err = srv.Shutdown(ctx)
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(err, closeApp())
	})
}

// Start runs n instances, each a child process running the test function
// named test (which calls Instance), all on the session directory dir, and
// returns their base URLs. They stop when the test ends.
func Start(t *testing.T, test, dir string, n int) []string {
	t.Helper()
	urls := make([]string, n)
	for i := range urls {
		c := proctest.Start(t, test, roleEnv, strconv.Itoa(i), []string{dirEnv + "=" + dir})
		urls[i] = strings.TrimPrefix(c.Expect(t, "url "), "url ")
		t.Cleanup(func() {
			if err := c.Stop(proctest.Deadline); err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		})
	}
	return urls
}

// Client is one browser: it keeps the cookies of its first response and
// sends them on every request, whichever instance it asks.
type Client struct {
	HTTP    *http.Client
	cookies []*http.Cookie
}

// NewClient returns a client with no cookies yet.
func NewClient() *Client {
	return &Client{HTTP: &http.Client{Timeout: proctest.Deadline}}
}

// Do sends method path to base and returns the status and body. The first
// response's cookies are kept; later ones are ignored, so that concurrent
// requests all carry the same session.
func (c *Client) Do(ctx context.Context, method, base, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return 0, "", err
	}
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if c.cookies == nil {
		c.cookies = resp.Cookies()
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// Counter sends GET /n to base and returns the session's counter.
func (c *Client) Counter(t *testing.T, base string) int {
	t.Helper()
	code, body, err := c.Do(t.Context(), http.MethodGet, base, "/n")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s/n: %d %q %v", base, code, body, err)
	}
	n, err := strconv.Atoi(body)
	if err != nil {
		t.Fatalf("GET %s/n: %q is no counter", base, body)
	}
	return n
}

// Result is what one user's concurrent increments did.
type Result struct {
	// Sent is the number of increments answered 200, the first included.
	Sent int
	// Final is the counter read afterwards.
	Final int
}

// Lost is the number of answered increments missing from the counter.
func (r Result) Lost() int { return r.Sent - r.Final }

// Increments starts one session with POST /inc on urls[0] (which must
// answer 1 and set the cookie), then sends workers × each further POST /inc
// for that session at once, spreading them over urls in turn, and reads the
// counter back. Any answer but 200 fails the test.
func Increments(t *testing.T, c *Client, urls []string, workers, each int) Result {
	t.Helper()
	code, body, err := c.Do(t.Context(), http.MethodPost, urls[0], "/inc")
	if err != nil || code != http.StatusOK || body != "1" {
		t.Fatalf("first POST /inc: %d %q %v, want 200 \"1\"", code, body, err)
	}
	if len(c.cookies) == 0 {
		t.Fatal("the first increment set no cookie")
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent = 1
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				base := urls[(w+i)%len(urls)]
				code, body, err := c.Do(t.Context(), http.MethodPost, base, "/inc")
				if err != nil || code != http.StatusOK {
					t.Errorf("POST %s/inc: %d %q %v", base, code, body, err)
					return
				}
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return Result{Sent: sent, Final: c.Counter(t, urls[len(urls)-1])}
}

// CheckNoneLost runs Increments (8 workers × 25 requests over the
// instances) and fails the test if any increment is missing.
func CheckNoneLost(t *testing.T, urls []string) {
	t.Helper()
	const workers, each = 8, 25
	r := Increments(t, NewClient(), urls, workers, each)
	if r.Sent != 1+workers*each || r.Lost() != 0 {
		t.Fatalf("%d increments answered over %d instances, counter %d: %d lost", r.Sent, len(urls), r.Final, r.Lost())
	}
	t.Logf("%d concurrent increments of one session over %d instances: counter %d, 0 lost", r.Sent, len(urls), r.Final)
}

// Gate holds requests inside a handler until the test lets them go, to
// drive an exact interleaving of two requests without sleeping.
type Gate struct {
	// Arrived receives a value when a request reaches the gate.
	Arrived chan struct{}
	release chan struct{}
}

// NewGate returns a closed gate.
func NewGate() *Gate {
	return &Gate{Arrived: make(chan struct{}, 16), release: make(chan struct{}, 16)}
}

// Wait is called by the handler: it reports arrival and blocks until
// Release, or until ctx ends.
func (g *Gate) Wait(ctx context.Context) error {
	g.Arrived <- struct{}{}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release lets one waiting (or the next arriving) request through.
func (g *Gate) Release() { g.release <- struct{}{} }

// AwaitArrival waits for one request to reach the gate.
func (g *Gate) AwaitArrival(t *testing.T) {
	t.Helper()
	select {
	case <-g.Arrived:
	case <-time.After(proctest.Deadline):
		t.Fatal("no request reached the gate")
	}
}

// Overlap documents what a last-writer-wins store loses. It starts a
// session with POST /inc on urls[0], then sends two increments of it, A to
// urls[0] and B to urls[1], each with ?gate, so that the app holds each at
// its instance's gate after reading the counter and before saving: both
// read the same value. Then A saves and answers, then B. It returns A's
// and B's answers and the counter afterwards.
func Overlap(t *testing.T, c *Client, urls [2]string, gates [2]*Gate) (a, b, final int) {
	t.Helper()
	if code, body, err := c.Do(t.Context(), http.MethodPost, urls[0], "/inc"); err != nil || code != http.StatusOK || body != "1" {
		t.Fatalf("first POST /inc: %d %q %v, want 200 \"1\"", code, body, err)
	}
	type answer struct {
		n   int
		err error
	}
	send := func(base string) chan answer {
		ch := make(chan answer, 1)
		go func() {
			code, body, err := c.Do(t.Context(), http.MethodPost, base, "/inc?gate")
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("status %d %q", code, body)
			}
			var n int
			if err == nil {
				n, err = ParseCount(body)
			}
			ch <- answer{n, err}
		}()
		return ch
	}
	wait := func(ch chan answer, name string) int {
		t.Helper()
		select {
		case r := <-ch:
			if r.err != nil {
				t.Fatalf("request %s: %v", name, r.err)
			}
			return r.n
		case <-time.After(proctest.Deadline):
			t.Fatalf("request %s did not answer", name)
		}
		return 0
	}
	chA := send(urls[0])
	gates[0].AwaitArrival(t)
	chB := send(urls[1])
	gates[1].AwaitArrival(t)
	gates[0].Release()
	a = wait(chA, "A")
	gates[1].Release()
	b = wait(chB, "B")
	return a, b, c.Counter(t, urls[0])
}

// ParseCount reads a counter answer.
func ParseCount(body string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(body))
	if err != nil {
		return 0, fmt.Errorf("webtest: %q is no counter: %w", body, err)
	}
	return n, nil
}
