package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestAppServerStopsWhileLockHeldElsewhere: the supervisor stops an app
// server (closes its standard input) while one of its requests waits for
// its session's lock, held elsewhere and not let go. With no deadline on
// the request its wait lasted httpsession's lock timeout (30 s), longer
// than the server gives Shutdown: it gave up on the request, closed the
// store under it and failed ("context deadline exceeded"). The request's
// deadline ends its session work within Shutdown's time: it is answered
// 503 and the server stops cleanly.
func TestAppServerStopsWhileLockHeldElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the request deadline")
	}
	dir := t.TempDir()
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serveApp(context.Background(), options{serve: 1, dir: dir}, stdin, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no LISTEN line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")) + "/"

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 2 * time.Minute}
	post(t, client, base+"login")
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
	defer other.Close()
	held, err := other.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	codes := make(chan int, 1)
	go func() {
		resp, err := client.Get(base)
		if err != nil {
			t.Errorf("request in flight when the server was stopped: %v", err)
			codes <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	for deadline := time.Now().Add(time.Minute); !waitingForLock(); {
		if time.Now().After(deadline) {
			t.Fatal("the request never waited for its session lock")
		}
		time.Sleep(time.Millisecond) // poll interval, not a wait for the event
	}
	stdinW.Close() // the supervisor stops the server
	if err := <-done; err != nil {
		t.Errorf("app server stopped while a request waited for a lock held elsewhere: %v", err)
	}
	if code := <-codes; code != http.StatusServiceUnavailable {
		t.Errorf("request waiting for a lock held elsewhere when the server was stopped: %d, want 503", code)
	}
}

// waitingForLock reports whether a goroutine of the middleware waits in
// the store's Lock.
func waitingForLock() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "fsstore.(*Store).Lock(") && strings.Contains(g, "httpsession") {
			return true
		}
	}
	return false
}
