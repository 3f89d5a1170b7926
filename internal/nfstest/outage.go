package nfstest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The outage tests (httpsession's TestNFSOutage, sessgc's
// TestNFSSessgc/SweepUnderOutage) hold what they measure to timing bounds as well
// as to correctness. The bounds are about the code under test, but in the
// harness they measure the guest as much: its one CPU runs every host and
// the server, and it waits for the machine's, which other work shares. So
// they share one policy (Timing): correctness always fails the test, and
// timing bounds only on request, and only when the guest had CPU to spare
// before the outage.
const (
	// EnvOutageTiming, set to 1, makes an outage test fail, not only
	// report, when it misses a timing bound, unless its guest was
	// saturated before the outage (see Timing). CI leaves it unset and
	// prints the reports (EnvOutageReport): its guests share a loaded
	// machine.
	EnvOutageTiming = "SESSFS_NFS_OUTAGE_TIMING"
	// EnvOutageReport names a file to which the outage tests append their
	// summaries (Report), one line per host and phase, failing or not: CI
	// prints it, as go test shows a passing test's log only with -v.
	EnvOutageReport = "SESSFS_NFS_OUTAGE_REPORT"
)

// BusyMax is the share of the guest's CPU above which the outage tests
// take it as saturated under their load before the outage: work then
// waits for the CPU, which says nothing about the code under test. Each
// test judges its own load from it (httpsession's also wants its requests
// slowed by it).
const BusyMax = 0.6

// CPU is the guest's CPU time so far, busy (not idle, not waiting for I/O)
// and in all, in clock ticks, from /proc/stat: the guest has one CPU for
// every host and the server.
type CPU struct{ Busy, Total int64 }

// ReadCPU reads the guest's CPU time; the zero CPU when it cannot.
func ReadCPU() CPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPU{}
	}
	var c CPU
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i := 1; i < len(f); i++ {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		c.Total += n
		if i != 4 && i != 5 { // idle, iowait
			c.Busy += n
		}
	}
	return c
}

// BusySince returns the busy share of the guest's CPU time from since to
// c, and false when none was counted between them (a reading failed, or
// too little time passed).
func (c CPU) BusySince(since CPU) (float64, bool) {
	if c.Total <= since.Total {
		return 0, false
	}
	return float64(c.Busy-since.Busy) / float64(c.Total-since.Total), true
}

// Timing holds an outage test's timing bounds to the shared policy: a
// bound missed (Miss) fails the test when EnvOutageTiming is 1 and the
// guest was not saturated before the outage, and is logged with the
// reason otherwise. Every miss is kept for the test's report (Summary).
// Correctness (nothing lost, exit codes, answers) does not go through
// Timing: it always fails the test.
type Timing struct {
	t        testing.TB
	asserted string
	report   func(format string, args ...any)
	missed   []string
}

// NewTiming returns the policy for t's timing bounds. saturated says why
// the guest could not carry the test's load before the outage, or is ""
// when it could.
func NewTiming(t testing.TB, saturated string) *Timing {
	tm := &Timing{t: t}
	timing := os.Getenv(EnvOutageTiming) == "1"
	switch {
	case !timing:
		tm.asserted = "no (without " + EnvOutageTiming + "=1)"
		tm.report = func(format string, args ...any) {
			t.Helper()
			t.Logf("timing bound missed (not asserted without %s=1): "+format, append([]any{EnvOutageTiming}, args...)...)
		}
	case saturated != "":
		t.Logf("%s: the timing bounds are only reported: %s", Host(), saturated)
		tm.asserted = "no (the guest was saturated: " + saturated + ")"
		tm.report = func(format string, args ...any) {
			t.Helper()
			t.Logf("timing bound missed (not asserted: the guest was saturated before the outage): "+format, args...)
		}
	default:
		tm.asserted = "yes"
		tm.report = t.Errorf
	}
	if saturated != "" && !timing {
		tm.asserted += "; the guest was saturated: " + saturated
	}
	return tm
}

// Miss records a timing bound missed, as format and args describe it.
func (tm *Timing) Miss(format string, args ...any) {
	tm.t.Helper()
	msg := fmt.Sprintf(format, args...)
	short := msg
	if r := []rune(msg); len(r) > 200 {
		short = string(r[:200]) + "..."
	}
	tm.missed = append(tm.missed, short)
	tm.report("%s", msg)
}

// Summary ends a test's report line: whether its timing bounds were
// asserted (and why not), and those it missed, each cut to 200
// characters.
func (tm *Timing) Summary() string {
	return fmt.Sprintf("timing bounds asserted: %s; missed: %d %q", tm.asserted, len(tm.missed), tm.missed)
}

// Report appends line to the file EnvOutageReport names, when it is set.
// Failing to is logged, not the test's failure: it is a report.
func Report(t testing.TB, line string) {
	t.Helper()
	name := os.Getenv(EnvOutageReport)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteString(line + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Logf("%s: %v", EnvOutageReport, err)
	}
}
