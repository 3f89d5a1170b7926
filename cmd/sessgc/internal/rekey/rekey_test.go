package rekey

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

func TestNewCmdRekeyFlags(t *testing.T) {
	defaults := RekeyOptions{Dir: "/s", Rate: 200, Concurrency: 4}
	for _, tc := range []struct {
		name string
		args string
		env  map[string]string
		want func(o *RekeyOptions)
		code int // expected exit code of a parse or validation error
	}{
		{name: "defaults", args: "--dir /s", want: func(o *RekeyOptions) {}},
		{name: "all flags", args: "-d /s --keys-file /k -r 0 -c 8 --max-duration 5m --no-fleet-lock --json -q --textfile /tmp/r.prom",
			want: func(o *RekeyOptions) {
				o.KeysFile, o.KeysFileFromFlag, o.Rate, o.Concurrency, o.MaxDuration = "/k", true, 0, 8, 5*time.Minute
				o.NoFleetLock, o.JSON, o.Quiet, o.Textfile = true, true, true, "/tmp/r.prom"
			}},
		// From the environment, the keys file does not count as given on
		// the command line (SESSGC_KEYS would then be ambiguous).
		{name: "env", env: map[string]string{"SESSGC_DIR": "/s", "SESSGC_KEYS_FILE": "/k", "SESSGC_RATE": "10"},
			want: func(o *RekeyOptions) { o.KeysFile, o.Rate = "/k", 10 }},
		{name: "no dir", code: cmdutil.ExitUsage},
		{name: "concurrency 0", args: "--dir /s -c 0", code: cmdutil.ExitUsage},
		{name: "negative rate", args: "--dir /s --rate -1", code: cmdutil.ExitUsage},
		{name: "negative budget", args: "--dir /s --max-duration -1s", code: cmdutil.ExitUsage},
		{name: "textfile not .prom", args: "--dir /s --textfile /tmp/x.txt", code: cmdutil.ExitUsage},
		{name: "no key flag", args: "--dir /s --keys 1", code: cmdutil.ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			io := &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}, Getenv: func(k string) string { return tc.env[k] }}
			var got *RekeyOptions
			cmd := NewCmdRekey(io, func(o *RekeyOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tc.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.UsageErrorf("%w", err) })
			err := cmd.Execute()
			if tc.code != 0 {
				if code := cmdutil.ExitCode(err); code != tc.code || got != nil {
					t.Fatalf("exit code %d (%v), want %d", code, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.want(&want)
			want.IO = got.IO
			if *got != want {
				t.Errorf("options\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}
