package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/report"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/fstarget"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/fsstore"
)

// TestSessionsOutliveTheRun: a run measures live sessions however long it
// lasts. The stores' clock here moves an hour at every reading, so the
// run spans weeks of store time: under fsstore's defaults (24 minutes
// idle, 24 hours' lifetime) the sessions created before the first
// measurement expired during it, and every load and touch of them failed
// as not found, counted as errors (or stopped the run) instead of
// measured.
func TestSessionsOutliveTheRun(t *testing.T) {
	base := time.Now()
	var readings atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(readings.Add(1)) * time.Hour) }
	args := []string{"--json", "--workload", "load,touch,cycle,mixed", "--ops", "40", "--rounds", "2", "--warmup", "0",
		"--concurrency", "1,2", "--sessions", "4", "--size", "512", "--durability", "none"}
	r := cmdtest.Run(t, NewCmdRun, func(o *RunOptions) error {
		o.TempBase = t.TempDir()
		o.storeOpts = []fsstore.Option{fsstore.WithClock(clock)}
		return runRun(o)
	}, args, nil)
	if r.Err != nil {
		t.Fatalf("run failed: %v\n%s", r.Err, r.ErrOut)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.Out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 4*2 {
		t.Fatalf("%d rows, want 8", len(rep.Results))
	}
	for _, row := range rep.Results {
		if row.Errors != 0 || row.Ops < 40 {
			t.Errorf("%s c=%d: %d ops, %d errors (%s)", row.Workload, row.Concurrency, row.Ops, row.Errors, row.FirstError)
		}
	}
	if span := time.Duration(readings.Load()) * time.Hour; span < 48*time.Hour {
		t.Errorf("the run spanned %v of store time, want days: the clock is not the stores'", span)
	}
	if !strings.Contains(r.Out, "session_idle_seconds") {
		t.Errorf("the JSON report does not say how long sessions live:\n%s", r.Out)
	}
}

// TestHelpSaysHowLongSessionsLive: "help run-targets" gives bench.SessionIdle in
// days and redistarget.MinTTL in hours, written out in its text.
func TestHelpSaysHowLongSessionsLive(t *testing.T) {
	long := strings.Join(strings.Fields(TargetsTopic().Long), " ")
	for _, want := range []string{
		fmt.Sprintf("keeps a session for %d days (the store's idle timeout)", bench.SessionIdle/(24*time.Hour)),
		fmt.Sprintf("at least %d hours (the TTL)", redistarget.MinTTL/time.Hour),
		fmt.Sprintf("its Redis TTL is %d hours", redistarget.MinTTL/time.Hour),
	} {
		if !strings.Contains(long, want) {
			t.Errorf("sessbench help run-targets does not say %q", want)
		}
	}
}

// TestStoreNotSupportedLeavesOutTheDefault: on a platform the store does
// not run on (Windows), the help promises that --redis is measured alone.
// The default target, a temporary directory, was opened like any --dir, and
// the store's refusal ended the run before Redis was reached. Here the store
// refuses as it does there, and --redis names a port nothing listens on:
// the error must be Redis's, and without --redis it must say what to give,
// naming no --dir: it named the temporary directory as one.
func TestStoreNotSupportedLeavesOutTheDefault(t *testing.T) {
	unsupported := func(name, dir string, opts ...fsstore.Option) (*fstarget.Target, error) {
		return nil, fmt.Errorf("fsstore: open %s: %w: windows/amd64 (linux, darwin and freebsd are)", dir, fsstore.ErrNotSupported)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"with --redis", []string{"--redis", "127.0.0.1:1"}, "127.0.0.1:1"},
		{"without", nil, "give --redis to measure a Redis server alone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			args := append([]string{"--ops", "10", "--rounds", "1", "--warmup", "0", "--sessions", "2"}, tc.args...)
			r := cmdtest.Run(t, NewCmdRun, func(o *RunOptions) error {
				o.TempBase = base
				o.openStore = unsupported
				return runRun(o)
			}, args, nil)
			if r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) {
				t.Fatalf("run on a platform the store does not run on: %v; want an error containing %q", r.Err, tc.want)
			}
			if tc.args != nil && errors.Is(r.Err, fsstore.ErrNotSupported) {
				t.Errorf("with --redis the run stopped at the default target: %v", r.Err)
			}
			// No --dir was given: the error names none, nor the
			// temporary directory made for the default target.
			if tc.args == nil && (strings.Contains(r.Err.Error(), "--dir") || strings.Contains(r.Err.Error(), base)) {
				t.Errorf("run without --dir on a platform the store does not run on: %v; want an error naming no --dir and no temporary directory", r.Err)
			}
			if left, _ := os.ReadDir(base); len(left) != 0 {
				t.Errorf("the default target's directory was left behind: %v", left)
			}
		})
	}
}
