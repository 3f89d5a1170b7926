// Package cmdtest runs one leaf command of sessgc or sessbench in a test,
// as the command tree would, with in-memory streams: the test seam of the
// commands' NewCmdX(io, runF) convention.
package cmdtest

import (
	"bytes"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// Result is what a command run by Run printed and returned.
type Result struct {
	Out, ErrOut string
	Err         error
}

// Run builds a command with newCmd on streams whose Getenv reads env,
// runs it with args, flag errors made usage errors
// as cmdutil.Execute does, and returns its output and error. runF is passed
// to newCmd: nil runs the command itself.
func Run[O any](t testing.TB, newCmd func(*cmdutil.IOStreams, func(*O) error) *cobra.Command, runF func(*O) error, args []string, env map[string]string) Result {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &cmdutil.IOStreams{Out: &out, ErrOut: &errOut, Getenv: func(k string) string { return env[k] }}
	cmd := newCmd(io, runF)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.UsageErrorf("%w", err) })
	err := cmd.Execute()
	return Result{Out: out.String(), ErrOut: errOut.String(), Err: err}
}

// Parse runs the command built by newCmd with args and env through its
// runF seam and returns the options it would run with, or the parse or
// validation error (then the options are nil).
func Parse[O any](t testing.TB, newCmd func(*cmdutil.IOStreams, func(*O) error) *cobra.Command, args []string, env map[string]string) (*O, error) {
	t.Helper()
	var got *O
	r := Run(t, newCmd, func(o *O) error { got = o; return nil }, args, env)
	if r.Err != nil {
		return nil, r.Err
	}
	return got, nil
}

// FlagCase is one row of a table test of a command's flags and
// environment.
type FlagCase[O any] struct {
	Name string
	Args string // split on white space
	Env  map[string]string
	// Want edits the default options into the expected ones.
	Want func(*O)
	// Code is the exit code of an expected parse or validation error; 0:
	// none expected.
	Code int
}

// TestFlags runs every case through newCmd's runF seam and compares the
// options with defaults as edited by Want. Options are compared with ==,
// their IO field (the streams) left out.
func TestFlags[O comparable](t *testing.T, newCmd func(*cmdutil.IOStreams, func(*O) error) *cobra.Command, defaults O, cases []FlagCase[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := Parse(t, newCmd, strings.Fields(tc.Args), tc.Env)
			if tc.Code != 0 {
				if code := cmdutil.ExitCode(err); code != tc.Code {
					t.Fatalf("exit code %d (%v), want %d", code, err, tc.Code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.Want(&want)
			// The streams are the test's own; only the settings count.
			reflect.ValueOf(&want).Elem().FieldByName("IO").Set(reflect.ValueOf(got).Elem().FieldByName("IO"))
			if *got != want {
				t.Errorf("options\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

// HelpWidth is the widest line of a command's long help text: a terminal's
// usual 80 columns, as cobra prints it unwrapped.
const HelpWidth = 80

// HelpFits fails t for every line of root's and its subcommands' long help
// that is wider than HelpWidth, so that an edit that joins two lines (cobra
// wraps nothing) shows in a test rather than in a user's terminal. The
// examples are left out: a command line is copied whole, not read.
func HelpFits(t *testing.T, root *cobra.Command) {
	t.Helper()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, l := range strings.Split(c.Long, "\n") {
			if n := len([]rune(l)); n > HelpWidth {
				t.Errorf("%s --help: a line of %d columns, more than %d: %q", c.CommandPath(), n, HelpWidth, l)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// HangupDefault makes the processes the test starts get SIGHUP's default
// disposition even when the test itself runs with SIGHUP ignored (under
// nohup, or a runner that ignores it): an ignored signal stays ignored
// across exec, and the commands leave an ignored SIGHUP alone
// (cmdutil.InterruptSignals), so a test of what SIGHUP does to them would
// test nohup instead. A signal this process catches starts at its default
// in a child, so catching it here until the test ends is enough. (Always:
// signal.Ignored no longer reports an ignored SIGHUP once a Notify for it
// has come and gone, although signal.Stop puts the ignoring back.)
func HangupDefault(t testing.TB) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	t.Cleanup(func() { signal.Stop(c) })
}
