package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestDrainsBeforeClosing: Kubernetes sends SIGTERM while the Service's
// endpoints and the load balancers still send the pod new requests (they
// learn of its end at the same time, and take a moment to act on it). The
// app closed its listener at once, and those requests failed with a
// refused connection at every rolling update. After SIGTERM it answers
// readiness 503, so that load balancers take it out, and goes on serving
// for -drain before it stops taking connections.
func TestDrainsBeforeClosing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The default drain, as deployed.
	base, done := startAppArgs(t, ctx, "-dir", dir, "-addr", "127.0.0.1:0", "-metrics-addr", "", "-insecure-cookie")
	client := &http.Client{Timeout: time.Minute}
	cancel() // SIGTERM
	// Draining starts with readiness failing; the listener is still open.
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz after SIGTERM: %v, want 503 while draining", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz after SIGTERM: %d for a minute, want 503", resp.StatusCode)
		}
		time.Sleep(time.Millisecond) // poll interval, not a wait for the event
	}
	resp, err := client.Post(base+"/visit", "", nil)
	if err != nil {
		t.Fatalf("POST /visit while draining: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "1\n" {
		t.Errorf("POST /visit while draining: %d %q, want 200 %q", resp.StatusCode, b, "1\n")
	}
	if err := <-done; err != nil {
		t.Errorf("run after the drain: %v", err)
	}
}
