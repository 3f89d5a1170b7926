package run

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// TestValidationNamesFlags: a value out of bounds is refused naming the
// flag as it is typed, as sessbench http's errors do: "rate NaN" and
// "write ratio 2" left the operator to find which flag was meant.
func TestValidationNamesFlags(t *testing.T) {
	for _, tt := range []struct{ args, want string }{
		{"--rate NaN", "--rate NaN"},
		{"--write-ratio 2", "--write-ratio 2"},
		{"--sessions 0", "--sessions 0"},
		{"--sessions 2 --hot-sessions 5", "--hot-sessions 5"},
		{"--warmup -1s", "--warmup -1s"},
		{"--ops -5", "--ops -5"},
		{"--duration 0s", "--duration 0s"},
		{"--rounds 0", "--rounds 0"},
		{"--concurrency 0", "--concurrency 0"},
		{"--duration 2ns --rounds 3", "--duration 2ns"},
	} {
		o, err := parse(t, strings.Fields(tt.args)...)
		if err == nil {
			_, err = o.validate()
		}
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a usage error naming %s", tt.args, err, tt.want)
		}
	}
}
