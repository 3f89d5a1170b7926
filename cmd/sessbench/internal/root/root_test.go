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
		{"help topic run-targets", context.Background, []string{"help", "run-targets"}, cmdutil.ExitOK, ""},
		{"help topic run-report", context.Background, []string{"help", "run-report"}, cmdutil.ExitOK, ""},
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

// TestCleanupShown: on a terminal, a run says that it is removing what it
// created, before the report, a Ctrl-C's error or a failure. On EFS
// thousands of files take a while, and the bar gone, the terminal sat
// blank, as if the run had hung.
func TestCleanupShown(t *testing.T) {
	const line = "removing the sessions the run created"
	for _, tc := range []struct {
		name string
		tty  bool
		args []string
	}{
		{"run", true, []string{"run", "--ops", "4", "--workload", "load", "--size", "1KiB", "--concurrency", "1", "--sessions", "2", "--rounds", "1", "--durability", "none"}},
		{"http", true, []string{"http", "--peers", "sessfs", "--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0"}},
		// Off a terminal (cron, a pipe, captured output), no line.
		{"run off a terminal", false, []string{"run", "--ops", "4", "--workload", "load", "--size", "1KiB", "--concurrency", "1", "--sessions", "2", "--rounds", "1", "--durability", "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("TMPDIR", dir)
			var out, errOut bytes.Buffer
			io := &cmdutil.IOStreams{Out: &out, ErrOut: &errOut, ErrTTY: tc.tty, Getenv: func(string) string { return "" }}
			if code := cmdutil.Execute(context.Background(), io, NewCmdRoot(io), tc.args); code != cmdutil.ExitOK {
				t.Fatalf("exit %d; stderr %q", code, errOut.String())
			}
			got := strings.Contains(errOut.String(), line)
			if got != tc.tty {
				t.Errorf("stderr %q: the line %q shown %v, want %v", errOut.String(), line, got, tc.tty)
			}
			if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
				t.Errorf("left behind in %s: %v %v", dir, ents, err)
			}
		})
	}
}
