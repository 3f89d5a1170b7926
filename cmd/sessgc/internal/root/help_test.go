package root_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/root"
)

func TestHelpFits(t *testing.T) {
	cmdtest.HelpFits(t, root.NewCmdRoot(&cmdutil.IOStreams{Getenv: func(string) string { return "" }}))
}

// TestHelpExit4CountsTextfileWrite: exit 4's text said that the process
// exited on time, when a --textfile on the hung mount may hold it
// pass.FSCheckTimeout more, as install-cron's budget counts.
func TestHelpExit4CountsTextfileWrite(t *testing.T) {
	long := strings.Join(strings.Fields(root.NewCmdRoot(&cmdutil.IOStreams{Getenv: func(string) string { return "" }}).Long), " ")
	_, exit4, _ := strings.Cut(long, " 4 the store's file server did not answer")
	exit4, _, _ = strings.Cut(exit4, " 5 sessgc crashed")
	want := fmt.Sprintf("or with --textfile up to %d s later", pass.FSCheckTimeout/time.Second)
	if !strings.Contains(exit4, want) || strings.Contains(exit4, "on time") {
		t.Errorf("sessgc --help, exit 4: %q; want %q, and no \"on time\"", exit4, want)
	}
}
