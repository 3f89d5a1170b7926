package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// FlagGroup is a heading of a command's help and the flags listed under
// it, in that order.
type FlagGroup struct {
	Title string
	Flags []string
}

// GroupFlags makes cmd's help list its flags under groups, in the groups'
// order, and the flags no group names under "Other flags": cobra lists them
// in one alphabetical block, where the two flags that choose what a
// command measures sit among twenty that tune it. Otherwise the help is
// cobra's: usage, examples, then the flags, then the inherited ones. A name
// cmd has no flag for is skipped (the command's help test lists its
// flags).
func GroupFlags(cmd *cobra.Command, groups ...FlagGroup) {
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		w := c.OutOrStderr()
		fmt.Fprintf(w, "Usage:\n  %s", c.UseLine())
		if c.HasExample() {
			fmt.Fprintf(w, "\n\nExamples:\n%s", c.Example)
		}
		local := c.LocalFlags()
		listed := map[string]bool{}
		section := func(title string, fs *pflag.FlagSet) {
			if fs.HasAvailableFlags() {
				fmt.Fprintf(w, "\n\n%s:\n%s", title, strings.TrimRight(fs.FlagUsages(), " \n"))
			}
		}
		for _, g := range groups {
			fs := pflag.NewFlagSet(g.Title, pflag.ContinueOnError)
			fs.SortFlags = false
			for _, name := range g.Flags {
				if f := local.Lookup(name); f != nil && !listed[name] {
					fs.AddFlag(f)
					listed[name] = true
				}
			}
			section(g.Title, fs)
		}
		rest := pflag.NewFlagSet("other", pflag.ContinueOnError)
		local.VisitAll(func(f *pflag.Flag) {
			if !listed[f.Name] {
				rest.AddFlag(f)
			}
		})
		section("Other flags", rest)
		if c.HasAvailableInheritedFlags() {
			section("Global Flags", c.InheritedFlags())
		}
		fmt.Fprintln(w)
		return nil
	})
}
