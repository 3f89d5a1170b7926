package root_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// A misspelt SESSGC_* variable is ignored, and so is the limit it was
// meant to set: sessgc says so rather than run without it in silence.
func TestMisspeltEnvironmentVariable(t *testing.T) {
	dir := smallStore(t, 1)
	tests := []struct {
		name string
		env  []string
		want []string // lines of the warning, or none
	}{
		{"misspelt", []string{"SESSGC_MAX_DURATON=1m"},
			[]string{"sessgc: warning: SESSGC_MAX_DURATON is set but is not a sessgc setting; it is ignored (did you mean SESSGC_MAX_DURATION?)"}},
		{"nothing near", []string{"SESSGC_SOMETHING_ELSE=1"},
			[]string{"sessgc: warning: SESSGC_SOMETHING_ELSE is set but is not a sessgc setting; it is ignored"}},
		// A variable named after a flag's one-letter shorthand, as a job
		// that had "sessgc run -q -d DIR" moves its flags into the
		// environment: the long flag's variable, not whatever short name
		// happens to be two edits away (SESSGC_ID, keygen's --id).
		{"shorthand", []string{"SESSGC_D=/srv/sessions", "SESSGC_Q=true", "SESSGC_N=true", "SESSGC_V=true"},
			[]string{"sessgc: warning: SESSGC_D is set but is not a sessgc setting; it is ignored (did you mean SESSGC_DIR?)",
				"sessgc: warning: SESSGC_Q is set but is not a sessgc setting; it is ignored (did you mean SESSGC_QUIET?)",
				"sessgc: warning: SESSGC_N is set but is not a sessgc setting; it is ignored (did you mean SESSGC_DRY_RUN?)",
				"sessgc: warning: SESSGC_V is set but is not a sessgc setting; it is ignored (did you mean SESSGC_VERBOSE?)"}},
		// A letter that is no flag's shorthand (-h is help's, which no
		// variable sets) suggests nothing either: every one-letter name
		// is two edits from SESSGC_ID, keygen's --id.
		{"other letter", []string{"SESSGC_H=true", "SESSGC_X=1"},
			[]string{"sessgc: warning: SESSGC_H is set but is not a sessgc setting; it is ignored",
				"sessgc: warning: SESSGC_X is set but is not a sessgc setting; it is ignored"}},
		// --help and the root's --version are flags no variable sets.
		{"help and version", []string{"SESSGC_HELP=true", "SESSGC_VERSION=true"},
			[]string{"sessgc: warning: SESSGC_HELP is set but is not a sessgc setting; it is ignored",
				"sessgc: warning: SESSGC_VERSION is set but is not a sessgc setting; it is ignored"}},
		// A flag of another command (rekey's --keys-file-trusted, stats'
		// --json), the keys and other programs' variables are no typo.
		{"known", []string{"SESSGC_KEYS_FILE_TRUSTED=true", "SESSGC_RATE=100", "SESSGC_JSON=true", "PATH=/bin", "SESSFS_X=1", "SESSFS_Y="}, nil},
		// Set but empty: taken for unset, the default applies, which
		// the job did not mean (an unset shell variable in the unit, a
		// blank ConfigMap value). Named once; an unknown one is
		// warned about as unknown alone.
		{"empty", []string{"SESSGC_MAX_DURATION=", "SESSGC_KEYS= ", "SESSGC_MAX_DURATION=", "SESSGC_MAX_DURATON=", "SESSGC_JSON=false"},
			[]string{"sessgc: warning: SESSGC_MAX_DURATON is set but is not a sessgc setting; it is ignored (did you mean SESSGC_MAX_DURATION?)",
				"sessgc: warning: SESSGC_MAX_DURATION is set but empty; it is ignored, as if unset",
				"sessgc: warning: SESSGC_KEYS is set but empty; it is ignored, as if unset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := executeEnv(context.Background(), tt.env, []string{"stats", "--dir", dir})
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			var got []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "warning") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
		})
	}
}

// The warning comes with the commands that read the SESSGC_* variables,
// and only with them: help, --version and the completion script read
// none, and shell completion (cobra's hidden __complete, run on every
// Tab) must print nothing a completion script could take for output.
func TestMisspeltEnvironmentVariableWhen(t *testing.T) {
	dir := smallStore(t, 1)
	env := []string{"SESSGC_MAX_DURATON=1m"}
	tests := []struct {
		args []string
		warn bool
	}{
		{[]string{"stats", "--dir", dir}, true},
		{[]string{"run", "--dir", dir, "-q"}, true},
		{[]string{"--dir", dir, "-q"}, true},
		{[]string{"keygen", "--id", "1"}, true},
		{[]string{"run", "--help"}, false},
		{[]string{"help", "run"}, false},
		{[]string{"help", "run-passes"}, false},
		{[]string{"help"}, false},
		{[]string{"--help"}, false},
		{[]string{"--version"}, false},
		{[]string{"completion", "bash"}, false},
		{[]string{"__complete", "run", "--d"}, false},
		{[]string{"__completeNoDesc", "stats", ""}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := executeEnv(context.Background(), env, tt.args)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if tt.args[0] == "completion" && !strings.Contains(stdout, "bash completion") {
				t.Errorf("the completion script is not on the command's stdout: %q", stdout)
			}
			if got := strings.Contains(stderr, "SESSGC_MAX_DURATON"); got != tt.warn {
				t.Errorf("warned: %v, want %v; stderr %q", got, tt.warn, stderr)
			}
		})
	}
}

// TestMisspeltEnvironmentVariableOnUsageError: a flag or an argument that
// cobra refuses (before the command runs) does not hide the warning: the
// two are mistakes in one job's configuration, and fixing the flag alone
// left the variable ignored. The warning comes before the error.
func TestMisspeltEnvironmentVariableOnUsageError(t *testing.T) {
	dir := smallStore(t, 1)
	env := []string{"SESSGC_MAX_DURATON=1m"}
	for _, args := range [][]string{
		{"run", "--dir", dir, "--bogus"},
		{"--dir", dir, "--bogus"},           // the default command
		{"run", "--dir", dir, "-c", "many"}, // a flag's value
		{"stats", "--dir", dir, "--bogus"},
		{"rekey", "--dir", dir, "--bogus"},
		{"install-cron", "--bogus"},
		{"keygen", "--id", "one"},
		{"run", "--dir", dir, "now"}, // an argument
		{"stats", "--dir", dir, "now"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := executeEnv(context.Background(), env, args)
			if code != cmdutil.ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, cmdutil.ExitUsage, stderr)
			}
			lines := strings.Split(stderr, "\n")
			if n := strings.Count(stderr, "SESSGC_MAX_DURATON"); n != 1 || !strings.Contains(lines[0], "warning: SESSGC_MAX_DURATON") {
				t.Errorf("stderr %q; want the warning once, first", stderr)
			}
			if len(lines) < 2 || !strings.HasPrefix(lines[1], "sessgc: ") || strings.Contains(lines[1], "warning") {
				t.Errorf("stderr %q; want the usage error after the warning", stderr)
			}
		})
	}
}

// TestUsageErrorNamesVariable: a setting refused after the environment
// filled it in was named as its flag alone ("--fleet-lock-ttl 1s: want
// ..."), which the operator then looked for in a cron line or unit file
// that has none. The error says which variable set it, as given; a flag
// on the command line is named as before.
func TestUsageErrorNamesVariable(t *testing.T) {
	dir := smallStore(t, 1)
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want []string // in the error
		not  []string // not in it
	}{
		{"variable", []string{"run", "--dir", dir}, []string{"SESSGC_FLEET_LOCK_TTL=1s"},
			[]string{"--fleet-lock-ttl 1s", `SESSGC_FLEET_LOCK_TTL="1s"`}, nil},
		{"flag", []string{"run", "--dir", dir, "--fleet-lock-ttl", "1s"}, nil,
			[]string{"--fleet-lock-ttl 1s"}, []string{"SESSGC_"}},
		// Two settings named, one from each: only the variable's is.
		{"variable and flag", []string{"rekey", "--dir", dir, "--max-duration", "1m"}, []string{"SESSGC_FLEET_LOCK_TTL=5m"},
			[]string{"--fleet-lock-ttl 5m0s is longer than --max-duration 1m0s", `SESSGC_FLEET_LOCK_TTL="5m"`}, []string{"SESSGC_MAX_DURATION"}},
		{"both variables", []string{"run", "--dir", dir}, []string{"SESSGC_FLEET_LOCK_TTL=5m", "SESSGC_MAX_DURATION=1m"},
			[]string{`SESSGC_FLEET_LOCK_TTL="5m"`, `SESSGC_MAX_DURATION="1m"`}, nil},
		{"another flag's check", []string{"run", "--dir", dir}, []string{"SESSGC_CONCURRENCY=0"},
			[]string{"--concurrency 0", `SESSGC_CONCURRENCY="0"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := executeEnv(context.Background(), tc.env, tc.args)
			if code != cmdutil.ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, cmdutil.ExitUsage, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q; want %q in it", stderr, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr %q; want no %q in it", stderr, w)
				}
			}
		})
	}
}
