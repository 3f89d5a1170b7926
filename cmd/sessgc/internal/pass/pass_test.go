package pass

import (
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"

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
	if err := ApplyEnv(f, func(k string) string { return env[k] }); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("bad value: %v", err)
	}
}
