package main_test

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/fakeredis"
)

// TestHTTPRedisGoesSilent: a Redis server that answers sessbench http's
// scs-redis peer while it opens and sets up its sessions, then stops
// answering during the measurement (a hung server, a network that drops
// its packets). Only the peer's opening was bounded: redigo waits for ever
// for an answer, and the run hung with it. Each command now has a
// deadline: the peer is reported as failed, naming the server and what it
// did not answer, the other peers' results are printed, and sessbench
// exits 1.
func TestHTTPRedisGoesSilent(t *testing.T) {
	const sessions = 2
	// Each session's creation and its warm-up increment is one EXEC: the
	// server goes silent as the measurement starts.
	srv := fakeredis.Start(t, 2*sessions)
	d := benchDir(t)
	r := run(t, nil, "http", "--dir", d, "--peers", "sessfs,scs-redis", "--redis", srv.Addr, "--size", "1KiB",
		"--duration", "50ms", "--rounds", "1", "--sessions", "2", "--concurrency", "2", "--hot", "2x2")
	if !srv.Silent() {
		t.Fatalf("the fake server never went silent: exit %d, stderr %q", r.code, r.stderr)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1 for a failed peer", r.code)
	}
	if !strings.Contains(r.stdout, "| sessfs | 1KiB |") {
		t.Errorf("the sessfs peer's results are not in the report:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "| scs-redis | 1KiB |") {
		t.Errorf("the failed peer has a row of results:\n%s", r.stdout)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if !strings.Contains(out, "scs-redis") || !strings.Contains(out, "did not answer") || !strings.Contains(out, srv.Addr) {
			t.Errorf("want the scs-redis peer's failure, naming the server %s and that it did not answer, in the report and on stderr; stdout:\n%s\nstderr:\n%s", srv.Addr, r.stdout, r.stderr)
			break
		}
	}
}
