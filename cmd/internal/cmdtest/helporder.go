package cmdtest

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// helpFlagLine is a flag's line in a command's help: "  -d, --dir ..." or
// "      --json ...".
var helpFlagLine = regexp.MustCompile(`^\s+(?:-\w, )?--([\w-]+)\b`)

// HelpShowsFirst checks the --help of the command newCmd builds: it is
// at most maxLines lines, lists the flags named in first before any other
// (in any order among themselves), and lists each of the command's flags
// once, so that grouping them (cmdutil.GroupFlags) dropped none. An
// operator reads the help top down: the flags that make a first run
// belong on its first screen, not among the ones that tune it.
func HelpShowsFirst[O any](t *testing.T, newCmd func(*cmdutil.IOStreams, func(*O) error) *cobra.Command, maxLines int, first []string) {
	t.Helper()
	r := Run(t, newCmd, nil, []string{"--help"}, nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	name := newCmd(&cmdutil.IOStreams{}, nil).Name()
	lines := strings.Split(strings.TrimRight(r.Out, "\n"), "\n")
	if len(lines) > maxLines {
		t.Errorf("%s --help is %d lines, want at most %d", name, len(lines), maxLines)
	}
	usage := slices.Index(lines, "Usage:") // the text above may quote flags
	if usage < 0 {
		t.Fatalf("%s --help has no usage:\n%s", name, r.Out)
	}
	var order []string
	for _, l := range lines[usage:] {
		if m := helpFlagLine.FindStringSubmatch(l); m != nil {
			order = append(order, m[1])
		}
	}
	newCmd(&cmdutil.IOStreams{}, nil).Flags().VisitAll(func(f *pflag.Flag) {
		if n := strings.Count(" "+strings.Join(order, " ")+" ", " "+f.Name+" "); n != 1 && f.Name != "help" {
			t.Errorf("--%s listed %d times in %s --help, want once", f.Name, n, name)
		}
	})
	if len(order) < len(first) || !slices.Equal(slices.Sorted(slices.Values(order[:len(first)])), slices.Sorted(slices.Values(first))) {
		t.Errorf("%s --help lists the flags in the order %v; want %v first", name, order, first)
	}
}
