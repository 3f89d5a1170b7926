//go:build linux

package httpsession_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestHealthHandlerReadOnlyMount: the store's file system turns read-only
// on this host. Its server still answers, and the readiness handler said
// 200 while every request that saved failed, so the load balancer kept
// sending users to the host. Once a save has failed, readiness must answer
// 503; once the mount is writable again it must answer 200 by itself
// (the load balancer sends the host no request meanwhile), and requests
// save again.
func TestHealthHandlerReadOnlyMount(t *testing.T) {
	mnt := testenv.MountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	m := httpsession.New(st, httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))))
	// A timeout no check here comes near: the answers must not depend on
	// the machine's speed.
	ready := httpsession.HealthHandler(st, time.Minute)
	probe := func() int {
		rec := httptest.NewRecorder()
		ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code
	}
	if code := probe(); code != http.StatusOK {
		t.Fatalf("readiness before the remount: %d, want 200", code)
	}
	// Seeded without a lock: a remount read-only fails with EBUSY while a
	// lock file is open for writing.
	id := seedSessions(t, st, 1)[0]

	testenv.RemountTmpfs(t, mnt, true)
	t.Cleanup(func() { testenv.RemountTmpfs(t, mnt, false) })
	// 503, as for an outage: the host leaves rotation, and the client's
	// retry reaches one that can serve it.
	if resp := do(t, m.Handler(counter()), id); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a request that saves on a read-only mount: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for range 2 { // the second with no request in between
		if code := probe(); code != http.StatusServiceUnavailable {
			t.Fatalf("readiness after a save failed on a read-only mount: %d, want 503", code)
		}
	}

	testenv.RemountTmpfs(t, mnt, false)
	deadline := time.Now().Add(time.Minute)
	for code := probe(); code != http.StatusOK; code = probe() {
		if time.Now().After(deadline) {
			t.Fatalf("readiness still %d a minute after the remount read-write, want 200", code)
		}
		time.Sleep(time.Millisecond) // polling for an event, bounded above
	}
	if got := body(t, do(t, m.Handler(counter()), id)); got != "2" {
		t.Fatalf("a request after the remount read-write: counter %q, want 2", got)
	}
}
