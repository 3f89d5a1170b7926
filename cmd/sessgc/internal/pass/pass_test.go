package pass

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"

	"github.com/spf13/pflag"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Count(0), "0"}, {Count(999), "999"}, {Count(1000), "1,000"}, {Count(-1234567), "-1,234,567"},
		{Bytes(12), "12 B"}, {Bytes(1536), "1.5 KiB"}, {Bytes(3 << 30), "3.0 GiB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{"SESSGC_MAX_DURATION": "1m", "SESSGC_DIR": "/env", "SESSGC_HELP": "true"}
	f := pflag.NewFlagSet("x", pflag.ContinueOnError)
	dir := f.String("dir", "", "")
	d := f.Duration("max-duration", 0, "")
	f.Bool("help", false, "")
	if err := f.Parse([]string{"--dir", "/flag"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(f, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *dir != "/flag" || d.String() != "1m0s" || f.Lookup("help").Changed {
		t.Errorf("dir %q, max-duration %v, help changed %v", *dir, *d, f.Lookup("help").Changed)
	}
	env["SESSGC_MAX_DURATION"] = "soon"
	f.Lookup("max-duration").Changed = false
	// A value that does not parse is named as every other usage error
	// about a variable's setting is: the flag it stands for, then the
	// variable as it was set.
	err := ApplyEnv(f, func(k string) string { return env[k] })
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.HasPrefix(err.Error(), "--max-duration: ") ||
		!strings.Contains(err.Error(), `(set in the environment: SESSGC_MAX_DURATION="soon")`) {
		t.Errorf("bad value: %v", err)
	}
}

// TestApplyEnvExclusions: a flag on the command line overrides the
// variable of a flag it excludes, as it overrides its own, except an
// Exclusion's Keep; two such flags from one source are a usage error
// naming them as they were given.
func TestApplyEnvExclusions(t *testing.T) {
	excl := []Exclusion{
		{A: "quiet", B: "dry-run", Why: "why", Keep: "dry-run", KeepWhy: "it keeps files"},
		{A: "quiet", B: "json", Why: "why"},
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // the flags set, or the usage error's start
	}{
		{"flags", []string{"-q", "--json"}, nil, "--quiet and --json exclude each other: why; give only one"},
		{"variables", nil, map[string]string{"SESSGC_QUIET": "true", "SESSGC_JSON": "1"},
			"SESSGC_QUIET=true and SESSGC_JSON=true exclude each other: why; give only one"},
		{"flag over variable", []string{"--json"}, map[string]string{"SESSGC_QUIET": "true"}, "json"},
		{"malformed variable overridden", []string{"--json"}, map[string]string{"SESSGC_QUIET": "maybe"}, "json"},
		{"flag over variable, other way", []string{"-q"}, map[string]string{"SESSGC_JSON": "true"}, "quiet"},
		{"false flag overrides nothing", []string{"--json=false"}, map[string]string{"SESSGC_QUIET": "true"}, "quiet"},
		{"flag over variable, kept one's", []string{"--dry-run"}, map[string]string{"SESSGC_QUIET": "true"}, "dry-run"},
		{"kept variable", []string{"-q"}, map[string]string{"SESSGC_DRY_RUN": "true"},
			"--quiet and SESSGC_DRY_RUN=true exclude each other: why; give only one (a flag on the command line overrides the variable of a flag it excludes, but not SESSGC_DRY_RUN: it keeps files)"},
		{"kept variable false", []string{"-q"}, map[string]string{"SESSGC_DRY_RUN": "false"}, "quiet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := pflag.NewFlagSet("x", pflag.ContinueOnError)
			q := f.BoolP("quiet", "q", false, "")
			n := f.Bool("dry-run", false, "")
			j := f.Bool("json", false, "")
			if err := f.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(f, func(k string) string { return tc.env[k] }, excl...)
			var got string
			switch {
			case err != nil && cmdutil.ExitCode(err) != cmdutil.ExitUsage:
				t.Fatalf("%v: not a usage error", err)
			case err != nil:
				got = err.Error()
			default:
				for _, s := range []struct {
					on   bool
					name string
				}{{*q, "quiet"}, {*n, "dry-run"}, {*j, "json"}} {
					if s.on {
						got += s.name
					}
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestApplyEnvKeyValueNamesFlag: a variable whose value does not parse
// and holds a key (the keys pasted into the wrong variable) is named as
// every other such value is, the flag first and the variable as set last,
// the value hidden, where it named the variable first ("SESSGC_RATE=(a
// value that holds a key, not shown): not a value of --rate").
func TestApplyEnvKeyValueNamesFlag(t *testing.T) {
	k, err := fsstore.NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	secret := k.SecretLine()
	f := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f.Float64("rate", 0, "")
	err = ApplyEnv(f, func(name string) string { return map[string]string{"SESSGC_RATE": secret}[name] })
	want := "--rate: "
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.HasPrefix(fmt.Sprint(err), want) ||
		!strings.HasSuffix(fmt.Sprint(err), "(set in the environment: SESSGC_RATE=(a value that holds a key, not shown))") {
		t.Errorf("ApplyEnv = %v; want a usage error starting %q and naming the variable last, its value hidden", err, want)
	}
	if strings.Contains(fmt.Sprint(err), secret[2:]) {
		t.Errorf("ApplyEnv = %v: shows the key", err)
	}
}
