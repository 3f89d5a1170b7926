package root

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

func TestExecuteExitCodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		ctx     func() context.Context
		args    []string
		want    int
		wantErr string
	}{
		{"help", context.Background, []string{"run", "--help"}, cmdutil.ExitOK, ""},
		{"unknown flag", context.Background, []string{"run", "--bogus"}, cmdutil.ExitUsage, "unknown flag"},
		{"bad value", context.Background, []string{"run", "--size", "huge"}, cmdutil.ExitUsage, "bad size"},
		{"missing dir", context.Background, []string{"run", "--dir", "/nonexistent/sessbench"}, cmdutil.ExitFailure, "no such file"},
		{"interrupted", func() context.Context {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(&cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: cmdutil.ErrInterrupted})
			return ctx
		}, []string{"run", "--dir", dir, "--ops", "10", "--durability", "none"}, cmdutil.ExitInterrupted, "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			io := &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}
			got := cmdutil.Execute(tt.ctx(), io, NewCmdRoot(io), tt.args)
			if got != tt.want {
				t.Errorf("exit = %d, want %d; stderr: %s", got, tt.want, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.wantErr)
			}
			if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
				t.Errorf("left behind in %s: %v %v", dir, ents, err)
			}
		})
	}
}

func TestHelpFits(t *testing.T) {
	cmdtest.HelpFits(t, NewCmdRoot(&cmdutil.IOStreams{Getenv: func(string) string { return "" }}))
}
