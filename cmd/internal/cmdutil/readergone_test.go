package cmdutil

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
)

// readerGone is a standard output whose reader went away: every write
// fails with EPIPE, as it does for a command that catches SIGPIPE.
type readerGone struct{}

func (readerGone) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestReaderGoneSaysSoOnlyWhereUnseen: a command whose report found
// standard output's reader gone exits 141 in every case, and says so on
// stderr only where nobody chose it: not after help or --version, which
// did no work ("tool --help | head -1" once ended with "its work itself
// succeeded"), and not with stderr on a terminal, where the reader that
// stopped early is the operator's own "| head". Unattended, the line is
// all that tells a report was lost.
func TestReaderGoneSaysSoOnlyWhereUnseen(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		errTTY   bool
		wantLine bool
	}{
		{[]string{"report"}, false, true},
		{[]string{"report"}, true, false},
		{[]string{"--help"}, false, false},
		{[]string{"report", "--help"}, false, false},
		{[]string{"help", "report"}, false, false},
		{[]string{"--version"}, false, false},
	} {
		t.Run(fmt.Sprintf("%s/tty=%v", strings.Join(tc.args, " "), tc.errTTY), func(t *testing.T) {
			var errb bytes.Buffer
			io := &IOStreams{Out: &checkedWriter{w: readerGone{}}, ErrOut: &errb, ErrTTY: tc.errTTY}
			root := &cobra.Command{Use: "tool", Version: "v1"}
			root.AddCommand(&cobra.Command{Use: "report", RunE: func(c *cobra.Command, _ []string) error {
				fmt.Fprintln(c.OutOrStdout(), "the report")
				return nil
			}})
			if code := Execute(context.Background(), io, root, tc.args); code != 141 {
				t.Errorf("exit %d, want 141 (stderr %q)", code, errb.String())
			}
			const line = "tool: standard output's reader went away"
			if got := strings.Contains(errb.String(), line); got != tc.wantLine {
				t.Errorf("stderr %q: has %q = %v, want %v", errb.String(), line, got, tc.wantLine)
			}
		})
	}
}
