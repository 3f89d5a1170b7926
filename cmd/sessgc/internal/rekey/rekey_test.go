package rekey

import (
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

func TestNewCmdRekeyFlags(t *testing.T) {
	defaults := RekeyOptions{Dir: "/s", Rate: 200, Concurrency: 4}
	cmdtest.TestFlags(t, NewCmdRekey, defaults, []cmdtest.FlagCase[RekeyOptions]{
		{Name: "defaults", Args: "--dir /s", Want: func(o *RekeyOptions) {}},
		{Name: "all flags", Args: "-d /s --keys-file /k -r 0 -c 8 --max-duration 5m --no-fleet-lock --json -q --textfile /tmp/r.prom",
			Want: func(o *RekeyOptions) {
				o.KeysFile, o.KeysFileFromFlag, o.Rate, o.Concurrency, o.MaxDuration = "/k", true, 0, 8, 5*time.Minute
				o.NoFleetLock, o.JSON, o.Quiet, o.Textfile = true, true, true, "/tmp/r.prom"
			}},
		// From the environment, the keys file does not count as given on
		// the command line (SESSGC_KEYS would then be ambiguous).
		{Name: "env", Env: map[string]string{"SESSGC_DIR": "/s", "SESSGC_KEYS_FILE": "/k", "SESSGC_RATE": "10"},
			Want: func(o *RekeyOptions) { o.KeysFile, o.Rate = "/k", 10 }},
		{Name: "no dir", Code: cmdutil.ExitUsage},
		{Name: "concurrency 0", Args: "--dir /s -c 0", Code: cmdutil.ExitUsage},
		{Name: "negative rate", Args: "--dir /s --rate -1", Code: cmdutil.ExitUsage},
		{Name: "negative budget", Args: "--dir /s --max-duration -1s", Code: cmdutil.ExitUsage},
		{Name: "textfile not .prom", Args: "--dir /s --textfile /tmp/x.txt", Code: cmdutil.ExitUsage},
		{Name: "no key flag", Args: "--dir /s --keys 1", Code: cmdutil.ExitUsage},
	})
}
