package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// TestShutdownWhileLockHeldElsewhere: a request that waits for its
// session's lock, held by another host that does not let it go, when
// SIGTERM comes. With no deadline on the request its wait lasted
// httpsession's lock timeout (30 s), longer than the 20 s run gives
// Shutdown: run gave up on the request, closed the store under it and
// failed ("context deadline exceeded"), and Kubernetes, whose grace
// period (30 s) that wait filled too, would have killed the pod. The
// request's deadline ends its session work within Shutdown's time: it is
// answered 503 and run returns nil.
func TestShutdownWhileLockHeldElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the request deadline")
	}
	dir := filepath.Join(t.TempDir(), "store")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startApp(t, ctx, dir)

	client, held := visitHeldElsewhere(t, base, dir)
	defer held.Unlock()

	codes := make(chan int, 1)
	go func() {
		resp, err := client.Post(base+"/visit", "", nil)
		if err != nil {
			t.Errorf("request in flight at SIGTERM: %v", err)
			codes <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	pollUntil(t, "the request to wait for its session lock", func() bool {
		return len(goroutinesWith("fsstore.(*Store).Lock(", "httpsession")) > 0
	})
	cancel() // SIGTERM
	if err := <-done; err != nil {
		t.Errorf("run after SIGTERM, a request waiting for a lock held elsewhere: %v", err)
	}
	if code := <-codes; code != http.StatusServiceUnavailable {
		t.Errorf("request waiting for a lock held elsewhere at SIGTERM: %d, want 503", code)
	}
}
