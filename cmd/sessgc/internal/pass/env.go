package pass

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/keyline"

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

// Exclusion is two bool flags of a command that exclude each other, such
// as --quiet and --dry-run: given both, one of them would be ignored
// without a word.
type Exclusion struct {
	A, B string // the flags' names
	Why  string // what each does, for the usage error
	// Keep, if not "", is A or B: the flag whose variable the other flag
	// on the command line does not override, as dropping it would change
	// what the run does rather than what it prints (SESSGC_DRY_RUN=true
	// with -q would remove files). KeepWhy says so in the usage error.
	Keep, KeepWhy string
}

// ApplyEnv sets every flag not given on the command line from its SESSGC_*
// variable, if set: flags override the environment, which overrides the
// defaults. A malformed value is a usage error naming the variable.
//
// The command line also overrides the variable of a flag that excludes
// one set on it (see excl): with SESSGC_QUIET=true in a job's environment,
// "sessgc run --dry-run" typed by hand lists what it would remove, as the
// usual precedence has it, rather than failing. Two flags that exclude
// each other both on the command line, or both in the environment, are a
// usage error naming both, and so is an Exclusion's Keep flag set in the
// environment with the other flag on the command line.
func ApplyEnv(flags *pflag.FlagSet, getenv func(string) string, excl ...Exclusion) error {
	on := func(name string) bool {
		f := flags.Lookup(name)
		return f != nil && f.Changed && f.Value.Type() == "bool" && f.Value.String() == "true"
	}
	// Read before any variable is applied: what the command line set.
	overridden := map[string]bool{}
	for _, e := range excl {
		if on(e.A) && e.Keep != e.B {
			overridden[e.B] = true
		}
		if on(e.B) && e.Keep != e.A {
			overridden[e.A] = true
		}
	}
	fromEnv := map[string]bool{}
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || overridden[f.Name] {
			return
		}
		v := getenv(EnvName(f.Name))
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			// The flag first, as every usage error about a variable's
			// setting names it (see NameVariables), then the variable as
			// set; Set's error left out where v holds a key, as it may
			// quote v (strconv's do).
			why := serr.Error()
			if keyline.Holds(v) {
				why = "the value does not parse"
			}
			err = cmdutil.UsageErrorf("--%s: %s (set in the environment: %s=%s)", f.Name, why, EnvName(f.Name), shownValue(v))
			return
		}
		f.Changed = true
		fromEnv[f.Name] = true
	})
	if err != nil {
		return err
	}
	// Named as the operator gave them: a flag, or a variable.
	source := func(name string) string {
		if fromEnv[name] {
			return EnvName(name) + "=" + flags.Lookup(name).Value.String()
		}
		return "--" + name
	}
	for _, e := range excl {
		if !on(e.A) || !on(e.B) {
			continue
		}
		hint := ""
		if e.Keep != "" && fromEnv[e.Keep] != fromEnv[otherOf(e, e.Keep)] {
			hint = fmt.Sprintf(" (a flag on the command line overrides the variable of a flag it excludes, but not %s: %s)", EnvName(e.Keep), e.KeepWhy)
		}
		return cmdutil.UsageErrorf("%s and %s exclude each other: %s; give only one%s", source(e.A), source(e.B), e.Why, hint)
	}
	return nil
}

// otherOf returns the flag of e that is not name.
func otherOf(e Exclusion, name string) string {
	if name == e.A {
		return e.B
	}
	return e.A
}

// UnknownEnv returns the SESSGC_* variables of environ that set nothing:
// no flag of root or of a command under it, and not KeysEnv. Each is
// returned with the known name nearest to it ("" if none is near), for a
// warning: a misspelt SESSGC_MAX_DURATON is otherwise ignored without a
// word, and the limit it was meant to set with it.
func UnknownEnv(root *cobra.Command, environ []string) (unknown, nearest []string) {
	known := []string{KeysEnv}
	// A one-letter name is two edits from every other short one (SESSGC_V
	// from keygen's SESSGC_ID), so a variable named after a flag's
	// shorthand, as a job moving "-q -d DIR" into its environment names
	// it, is matched to that flag's variable by the letter instead. A
	// letter two commands give different flags suggests neither ("").
	short := map[string]string{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			// ApplyEnv never reads SESSGC_HELP, nor SESSGC_VERSION: the
			// root's --version is no flag of a command that reads the
			// environment.
			if f.Name == "help" || f.Name == "version" {
				return
			}
			known = append(known, EnvName(f.Name))
			if f.Shorthand != "" {
				name := EnvPrefix + strings.ToUpper(f.Shorthand)
				if prev, ok := short[name]; ok && prev != EnvName(f.Name) {
					short[name] = ""
				} else {
					short[name] = EnvName(f.Name)
				}
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || slices.Contains(known, name) || slices.Contains(unknown, name) {
			continue
		}
		unknown = append(unknown, name)
		if long, ok := short[name]; ok || len(name) == len(EnvPrefix)+1 {
			// Any other letter (-h's, or none's) is no misspelling of a
			// longer name: it is two edits from each short one.
			nearest = append(nearest, long)
			continue
		}
		near, best := "", 3 // at most two edits away: a typo, not another word
		for _, k := range known {
			if d := editDistance(name, k); d < best {
				near, best = k, d
			}
		}
		nearest = append(nearest, near)
	}
	return unknown, nearest
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// RunE returns the RunE of a sessgc leaf command: a warning on io.ErrOut
// for each SESSGC_* variable that sets nothing (see UnknownEnv; io.Environ
// nil: no check), then the SESSGC_* variables fill the flags not given
// (read with io.Getenv; flags that exclude each other, excl, as ApplyEnv
// says), validate (if not nil) checks opts, then runF, the
// tests' seam, or else run does the work.
//
// The check is here, with the reading of the variables, rather than in a
// hook of the root: help, --version and cobra's completion commands read
// none, and shell completion, which runs sessgc on every Tab, must print
// nothing but completions. A command refused before RunE runs (a bad
// flag) warns through WarnUnknownEnvOnUsageError.
func RunE[O any](io *cmdutil.IOStreams, opts *O, validate func() error, runF func(*O) error, run func(context.Context, *O) error, excl ...Exclusion) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, _ []string) error {
		WarnUnknownEnv(io, c.Root())
		// The flags given on the command line, before the environment
		// fills in the others.
		given := map[string]bool{}
		c.Flags().VisitAll(func(f *pflag.Flag) { given[f.Name] = f.Changed })
		if err := ApplyEnv(c.Flags(), io.Getenv, excl...); err != nil {
			return err
		}
		if err := fleetLockTTLUnused(c.Flags(), given, io); err != nil {
			return err
		}
		if validate != nil {
			if err := validate(); err != nil {
				return NameVariables(c.Flags(), given, io.Getenv, err)
			}
		}
		if runF != nil {
			return runF(opts)
		}
		return NameVariables(c.Flags(), given, io.Getenv, run(c.Context(), opts))
	}
}

// Warner returns a function that prints msg as a warning line on
// io.ErrOut (Limits.Warn).
func Warner(io *cmdutil.IOStreams) func(msg string) {
	return func(msg string) { fmt.Fprintf(io.ErrOut, "sessgc: warning: %s\n", msg) }
}

// fleetLockTTLUnused answers a --fleet-lock-ttl given on the command line
// (given) that does nothing: with --no-fleet-lock on the command line too,
// a usage error, as two flags that exclude each other are; with
// SESSGC_NO_FLEET_LOCK=true or a dry run (a dry run runs a cron line's
// flags as they are, to see what it would do), a warning on io.ErrOut.
// Set by SESSGC_FLEET_LOCK_TTL, which a fleet sets for every host and
// every kind of run, it is silent. On a store that locks with flock it
// also does nothing; that is told once the store is open (Limits.Warn).
func fleetLockTTLUnused(flags *pflag.FlagSet, given map[string]bool, io *cmdutil.IOStreams) error {
	ttl := flags.Lookup("fleet-lock-ttl")
	if ttl == nil || !given[ttl.Name] || ttl.Value.String() == time.Duration(0).String() {
		return nil
	}
	on := func(name string) bool {
		f := flags.Lookup(name)
		return f != nil && f.Value.String() == "true"
	}
	switch {
	case on("no-fleet-lock") && given["no-fleet-lock"]:
		return cmdutil.UsageErrorf("--fleet-lock-ttl %v and --no-fleet-lock exclude each other: the TTL is the fleet lease's, and --no-fleet-lock takes no fleet lock; give only one", ttl.Value)
	case on("no-fleet-lock"):
		fmt.Fprintf(io.ErrOut, "sessgc: warning: --fleet-lock-ttl %v does nothing: %s=%s takes no fleet lock\n", ttl.Value, EnvName("no-fleet-lock"), flags.Lookup("no-fleet-lock").Value)
	case on("dry-run"):
		fmt.Fprintf(io.ErrOut, "sessgc: warning: --fleet-lock-ttl %v does nothing in a dry run, which takes no fleet lock\n", ttl.Value)
	}
	return nil
}

// NameVariables adds to err, a usage error that names flags ("--rate
// -1: want ..."), the variables that set those of them not given on the
// command line (those in given), as they were set: named as flags only,
// they were looked for in a cron line or unit file that has none. Any
// other error is returned as it is.
func NameVariables(flags *pflag.FlagSet, given map[string]bool, getenv func(string) string, err error) error {
	if err == nil || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		return err
	}
	msg := err.Error()
	var set []string
	flags.VisitAll(func(f *pflag.Flag) {
		if !f.Changed || given[f.Name] || !namesFlag(msg, f.Name) {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			set = append(set, EnvName(f.Name)+"="+shownValue(v))
		}
	})
	if len(set) == 0 {
		return err
	}
	return cmdutil.UsageErrorf("%w (set in the environment: %s)", err, strings.Join(set, ", "))
}

// namesFlag reports whether msg names the flag --name, not one whose
// name merely starts with it.
func namesFlag(msg, name string) bool {
	flag := "--" + name
	for i := 0; ; {
		j := strings.Index(msg[i:], flag)
		if j < 0 {
			return false
		}
		end := i + j + len(flag)
		if end == len(msg) || !isFlagChar(msg[end]) {
			return true
		}
		i = end
	}
}

func isFlagChar(c byte) bool {
	return c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// WarnUnknownEnvOnUsageError makes cmd, a command whose RunE is RunE's,
// also warn of SESSGC_* variables that set nothing when cobra refuses its
// flags or arguments, before RunE runs: a misspelt variable and a bad flag
// are both mistakes in the job's configuration, and the operator fixing
// one must see the other at once rather than on the next run. Bad flags
// are usage errors still (cmdutil.Execute's rule).
func WarnUnknownEnvOnUsageError(io *cmdutil.IOStreams, cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		WarnUnknownEnv(io, c.Root())
		return cmdutil.UsageErrorf("%w", err)
	})
	args := cmd.Args
	cmd.Args = func(c *cobra.Command, a []string) error {
		var err error
		if args != nil {
			err = args(c, a)
		}
		if err != nil {
			WarnUnknownEnv(io, c.Root())
		}
		return err
	}
}

// WarnUnknownEnv prints a warning on io.ErrOut for each SESSGC_* variable
// of io.Environ that sets nothing in the command tree under root, naming
// the setting it is nearest to, and for each that is set but empty (see
// EmptyEnv). A warning, not a usage error: a unit file
// or CronJob that sets a variable for a later version's flag keeps
// working.
func WarnUnknownEnv(io *cmdutil.IOStreams, root *cobra.Command) {
	if io.Environ == nil {
		return
	}
	unknown, nearest := UnknownEnv(root, io.Environ())
	for i, name := range unknown {
		hint := ""
		if nearest[i] != "" {
			hint = " (did you mean " + nearest[i] + "?)"
		}
		fmt.Fprintf(io.ErrOut, "sessgc: warning: %s is set but is not a sessgc setting; it is ignored%s\n", name, hint)
	}
	for _, name := range EmptyEnv(io.Environ(), unknown) {
		fmt.Fprintf(io.ErrOut, "sessgc: warning: %s is set but empty; it is ignored, as if unset\n", name)
	}
}

// EmptyEnv returns the SESSGC_* variables of environ that are set but
// empty (SESSGC_KEYS also blank), other than those of unknown: ApplyEnv
// and LoadKeys take such a one for unset, so a job whose SESSGC_DIR or
// SESSGC_MAX_DURATION lost its value (an unset shell variable in the
// unit, a ConfigMap key left blank) ran with the default in silence.
// Each is named once.
func EmptyEnv(environ []string, unknown []string) []string {
	var empty []string
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || slices.Contains(unknown, name) || slices.Contains(empty, name) {
			continue
		}
		if v == "" || (name == KeysEnv && strings.TrimSpace(v) == "") {
			empty = append(empty, name)
		}
	}
	return empty
}

// shownValue is v quoted, for a message that names what a variable or
// flag was set to, unless v may hold a key's secret (the keys given where
// the keys file's path goes: SESSGC_KEYS_FILE="$(cat keys)"), which such
// a message would put in cron mail and the journal: then it says so
// instead.
func shownValue(v string) string {
	if keyline.Holds(v) {
		return "(a value that holds a key, not shown)"
	}
	return strconv.Quote(v)
}
