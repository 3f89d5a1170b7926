package run

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
)

// FuzzRunEnv: a setting of sessgc run is the same whether it comes from
// its flag (--name=VALUE, a cron line) or from its variable
// (SESSGC_NAME=VALUE, a Kubernetes CronJob's env): the run gets the same
// options, or both are refused with the same exit code. A value one
// source took and the other refused, or read differently, would make a
// job moved from cron to a CronJob sweep another store or at another rate.
func FuzzRunEnv(f *testing.F) {
	var names []string
	NewCmdRun(&cmdutil.IOStreams{}, nil).Flags().VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "help" {
			names = append(names, fl.Name)
		}
	})
	for i, v := range []string{"/srv/s", "true", "0", "5m", "1.5", "-1", "1e309", "NaN", "1h30m", "x", "debug", "/p/q.prom", " 2", "0x10", "false", "t"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, v string) {
		// An unset and an empty variable are the same; the environment
		// holds no NUL.
		if v == "" || strings.ContainsRune(v, 0) {
			return
		}
		name := names[int(which)%len(names)]
		base := []string{"--dir", "/srv/sessions"}
		if name == "dir" {
			base = nil
		}
		byFlag, ferr := cmdtest.Parse(t, NewCmdRun, append(base, "--"+name+"="+v), nil)
		byEnv, eerr := cmdtest.Parse(t, NewCmdRun, base, map[string]string{pass.EnvName(name): v})
		if (ferr == nil) != (eerr == nil) || cmdutil.ExitCode(ferr) != cmdutil.ExitCode(eerr) {
			t.Fatalf("--%s=%q: %v (exit %d); %s=%q: %v (exit %d)", name, v, ferr, cmdutil.ExitCode(ferr), pass.EnvName(name), v, eerr, cmdutil.ExitCode(eerr))
		}
		if ferr != nil {
			return
		}
		// Where it came from is recorded for one warning only.
		byFlag.IO, byEnv.IO = nil, nil
		byFlag.FleetLockTTLFromFlag = false
		if *byFlag != *byEnv {
			t.Fatalf("--%s=%q gives\n%+v\n%s=%q gives\n%+v", name, v, *byFlag, pass.EnvName(name), v, *byEnv)
		}
	})
}
