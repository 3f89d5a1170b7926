package rekey

import (
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
)

func TestNewCmdRekeyFlags(t *testing.T) {
	defaults := RekeyOptions{Dir: "/s", Rate: 200, Concurrency: 4, Grace: time.Minute}
	cmdtest.TestFlags(t, NewCmdRekey, defaults, []cmdtest.FlagCase[RekeyOptions]{
		{Name: "defaults", Args: "--dir /s", Want: func(o *RekeyOptions) {}},
		{Name: "all flags", Args: "-d /s --keys-file /k -r 0 -c 8 --grace 5m --max-duration 5m --no-fleet-lock --json --textfile /tmp/r.prom",
			Want: func(o *RekeyOptions) {
				o.KeysFile, o.KeysFileFromFlag, o.Rate, o.Concurrency, o.Grace, o.MaxDuration = "/k", true, 0, 8, 5*time.Minute, 5*time.Minute
				o.NoFleetLock, o.JSON, o.Textfile = true, true, "/tmp/r.prom"
			}},
		{Name: "quiet", Args: "-d /s -q", Want: func(o *RekeyOptions) { o.Quiet = true }},
		// As for run: --quiet and --json exclude each other, and a flag on
		// the command line overrides the variable of the other.
		{Name: "quiet json", Args: "-d /s -q --json", Code: cmdutil.ExitUsage},
		{Name: "quiet env, json flag", Args: "-d /s --json", Env: map[string]string{"SESSGC_QUIET": "true"},
			Want: func(o *RekeyOptions) { o.JSON = true }},
		{Name: "json env, quiet flag", Args: "-d /s -q", Env: map[string]string{"SESSGC_JSON": "true"},
			Want: func(o *RekeyOptions) { o.Quiet = true }},
		// From the environment, the keys file does not count as given on
		// the command line (SESSGC_KEYS would then be ambiguous).
		{Name: "env", Env: map[string]string{"SESSGC_DIR": "/s", "SESSGC_KEYS_FILE": "/k", "SESSGC_RATE": "10"},
			Want: func(o *RekeyOptions) { o.KeysFile, o.Rate = "/k", 10 }},
		{Name: "grace env", Args: "-d /s", Env: map[string]string{"SESSGC_GRACE": "3m"},
			Want: func(o *RekeyOptions) { o.Grace = 3 * time.Minute }},
		{Name: "grace 0", Args: "--dir /s --grace 0", Code: cmdutil.ExitUsage},
		{Name: "no dir", Code: cmdutil.ExitUsage},
		{Name: "concurrency 0", Args: "--dir /s -c 0", Code: cmdutil.ExitUsage},
		{Name: "negative rate", Args: "--dir /s --rate -1", Code: cmdutil.ExitUsage},
		{Name: "negative budget", Args: "--dir /s --max-duration -1s", Code: cmdutil.ExitUsage},
		{Name: "textfile not .prom", Args: "--dir /s --textfile /tmp/x.txt", Code: cmdutil.ExitUsage},
		{Name: "no key flag", Args: "--dir /s --keys 1", Code: cmdutil.ExitUsage},
	})
}

// TestHumanSummaryAbandoned: a pass given up on in a call the file server
// did not answer says what it rewrote before, as one its budget stopped
// does; it printed only the error line. A pass that failed before it
// scanned anything (a wrong key) still leaves it to the error line.
func TestHumanSummaryAbandoned(t *testing.T) {
	opts := &RekeyOptions{MaxDuration: 30 * time.Minute}
	for _, tc := range []struct {
		name string
		sum  Summary
		want []string // nil: no summary
	}{
		{"abandoned", Summary{Dir: "/s", KeyID: 2, Rekeyed: 5, UpToDate: 1, Scanned: 6,
			Outcome: pass.Outcome{StoppedEarly: true, StopReason: "unresponsive", Error: "the store's file server did not answer in time", ExitCode: 4}},
			[]string{"sessgc: rekeyed /s to key 2 in ", "rewrote 5 records, 1 already up to date; scanned 6 records\n",
				"sessgc: stopped early: the file server did not answer within --max-duration 30m0s"}},
		{"abandoned opening the store", Summary{Dir: "/s", KeyID: 2,
			Outcome: pass.Outcome{StoppedEarly: true, StopReason: "unresponsive", Error: "the store's file server did not answer in time", ExitCode: 4}},
			[]string{"rewrote 0 records", "sessgc: stopped early: the file server did not answer"}},
		{"wrong key", Summary{Dir: "/s", KeyID: 2, Outcome: pass.Outcome{Error: "wrong key", ExitCode: 3}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := humanSummary(opts, &tc.sum)
			if tc.want == nil && got != "" {
				t.Errorf("summary %q, want none", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary %q, want it to hold %q", got, w)
				}
			}
		})
	}
}

// TestHumanSummarySubMillisecond: a rekey of a small store, shorter than a
// millisecond, said "rekeyed ... in 0s".
func TestHumanSummarySubMillisecond(t *testing.T) {
	sum := Summary{Dir: "/s", KeyID: 2, DurationSecs: 0.0004, Scanned: 1}
	if got, want := humanSummary(&RekeyOptions{}, &sum), "sessgc: rekeyed /s to key 2 in <1ms: "; !strings.HasPrefix(got, want) {
		t.Errorf("summary %q, want it to start %q", got, want)
	}
}
