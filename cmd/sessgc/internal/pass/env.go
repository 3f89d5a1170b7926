package pass

import (
	"context"
	"strings"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// EnvPrefix starts the environment variable of every flag: --max-duration
// is also SESSGC_MAX_DURATION.
const EnvPrefix = "SESSGC_"

// EnvName returns the environment variable that sets a flag.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnv sets every flag not given on the command line from its SESSGC_*
// variable, if set: flags override the environment, which overrides the
// defaults. A malformed value is a usage error naming the variable.
func ApplyEnv(flags *pflag.FlagSet, getenv func(string) string) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		v := getenv(EnvName(f.Name))
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = cmdutil.UsageErrorf("%s=%q: %v", EnvName(f.Name), v, serr)
			return
		}
		f.Changed = true
	})
	return err
}

// RunE returns the RunE of a sessgc leaf command: the SESSGC_* variables
// fill the flags not given (read with io.Getenv), validate (if not nil)
// checks opts, then runF, the tests' seam, or else run does the work.
func RunE[O any](io *cmdutil.IOStreams, opts *O, validate func() error, runF func(*O) error, run func(context.Context, *O) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, _ []string) error {
		if err := ApplyEnv(c.Flags(), io.Getenv); err != nil {
			return err
		}
		if validate != nil {
			if err := validate(); err != nil {
				return err
			}
		}
		if runF != nil {
			return runF(opts)
		}
		return run(c.Context(), opts)
	}
}
