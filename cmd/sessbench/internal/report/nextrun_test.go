package report

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// TestNextRunLeavesOutFailedKinds: after a run whose Redis failed
// mid-run, the verdict still said to add --redis, which was given; the
// same for a directory given and failed. The suggestion leaves out what
// was given, and says to run again once the failed target answers.
func TestNextRunLeavesOutFailedKinds(t *testing.T) {
	nfs := Target{Name: "nfs", Info: bench.Info{Kind: "fs", NFS: true, Location: "/mnt/efs/bench"}}
	local := Target{Name: "local", Info: bench.Info{Kind: "fs", Location: "/var/tmp/bench"}}
	redis := Target{Name: "redis", Info: bench.Info{Kind: "redis", Location: "127.0.0.1:6379"}}
	for _, tc := range []struct {
		name    string
		subject Target
		failed  Target
		notWant string
	}{
		{"nfs, redis failed", nfs, redis, "--redis"},
		{"local, redis failed", local, redis, "--redis"},
		{"nfs, local failed", nfs, local, "--dir /var/tmp/bench"},
		{"redis, local failed", redis, local, "--dir"},
		{"local, nfs failed", local, nfs, "--dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nextRun(tc.subject, []Failure{{Target: tc.failed, Error: "connection refused"}})
			if strings.Contains(got, tc.notWant) || !strings.Contains(got, tc.failed.Name+", which failed") {
				t.Errorf("nextRun(%s) with %s failed: %q; want no %q, and %s named as failed", tc.subject.Name, tc.failed.Name, got, tc.notWant, tc.failed.Name)
			}
		})
	}
	if got := nextRun(nfs, nil); !strings.Contains(got, "--dir /var/tmp/bench") || !strings.Contains(got, "--redis HOST:PORT") {
		t.Errorf("nextRun(nfs) with nothing failed: %q; want local disk and Redis suggested", got)
	}
}
