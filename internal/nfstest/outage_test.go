package nfstest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what a Timing reports to it.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// TestTiming: a timing bound missed fails the test only with
// SESSFS_NFS_OUTAGE_TIMING=1 on a guest that was not saturated; otherwise
// it is logged with the reason. The summary says which, and lists the
// misses.
func TestTiming(t *testing.T) {
	const why = "the guest's CPU was 90% busy"
	for _, tc := range []struct {
		name, env, saturated string
		wantFail             bool
		wantAsserted         string
	}{
		{"asserted", "1", "", true, "timing bounds asserted: yes;"},
		{"saturated", "1", why, false, "timing bounds asserted: no (the guest was saturated: " + why + ");"},
		{"not asked", "", "", false, "timing bounds asserted: no (without " + EnvOutageTiming + "=1);"},
		{"not asked, saturated", "0", why, false, "timing bounds asserted: no (without " + EnvOutageTiming + "=1); the guest was saturated: " + why + ";"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvOutageTiming, tc.env)
			r := &recorder{}
			tm := NewTiming(r, tc.saturated)
			tm.Miss("took %s, want %s", "9s", strings.Repeat("x", 300))
			if failed := len(r.errors) > 0; failed != tc.wantFail {
				t.Errorf("failed %v (errors %q, logs %q), want %v", failed, r.errors, r.logs, tc.wantFail)
			}
			if !tc.wantFail && (len(r.logs) == 0 || !strings.Contains(r.logs[len(r.logs)-1], "took 9s")) {
				t.Errorf("logs %q, want the miss", r.logs)
			}
			sum := tm.Summary()
			if !strings.HasPrefix(sum, tc.wantAsserted) || !strings.Contains(sum, "missed: 1 [\"took 9s, want xxx") || !strings.Contains(sum, "...\"]") {
				t.Errorf("summary %q, want it to start %q and list the miss, cut short", sum, tc.wantAsserted)
			}
		})
	}
}

func TestCPUBusySince(t *testing.T) {
	for _, tc := range []struct {
		since, now CPU
		want       float64
		known      bool
	}{
		{CPU{Busy: 10, Total: 100}, CPU{Busy: 40, Total: 150}, 0.6, true},
		{CPU{Busy: 10, Total: 100}, CPU{Busy: 10, Total: 100}, 0, false},
		{CPU{Busy: 10, Total: 100}, CPU{}, 0, false}, // a reading failed
	} {
		if got, known := tc.now.BusySince(tc.since); got != tc.want || known != tc.known {
			t.Errorf("%+v.BusySince(%+v) = %v, %v; want %v, %v", tc.now, tc.since, got, known, tc.want, tc.known)
		}
	}
}

// TestReport: lines are appended to the file SESSFS_NFS_OUTAGE_REPORT
// names, and nothing is written without it.
func TestReport(t *testing.T) {
	name := filepath.Join(t.TempDir(), "report")
	t.Setenv(EnvOutageReport, "")
	Report(t, "not written")
	t.Setenv(EnvOutageReport, name)
	Report(t, "one")
	Report(t, "two")
	if b, err := os.ReadFile(name); err != nil || string(b) != "one\ntwo\n" {
		t.Errorf("report %q, %v; want two lines", b, err)
	}
}
