package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/sessfs/sessfs/internal/keyline"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Main runs the command tree newRoot builds with the process's streams and
// args, under a context that Ctrl-C cancels (and SIGTERM and SIGHUP; see
// InterruptContext), and returns the exit code for os.Exit.
func Main(newRoot func(*IOStreams) *cobra.Command, args []string) int {
	ctx, stop := InterruptContext(context.Background())
	defer stop()
	io := System()
	return Execute(ctx, io, newRoot(io), args)
}

// Execute runs root with args under ctx and returns the exit code. It sets
// what every command shares: --version, usage errors for bad flags, and
// printing the error here, once, as "NAME: error", with a pointer to
// --help after a usage error.
func Execute(ctx context.Context, io *IOStreams, root *cobra.Command, args []string) int {
	if root.Version == "" {
		root.Version = Version()
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	if root.Flags().Lookup("version") == nil {
		// Declared here so that cobra gives it no -v: "sessgc -v" means
		// "sessgc run -v" (verbose), as every leading flag selects the
		// default command, and a -v listed in the root's help as the
		// version sent operators into a sweep.
		root.Flags().Bool("version", false, "version for "+root.Name())
	}
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SilenceErrors, root.SilenceUsage = true, true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageErrorf("%w", err) })
	// cobra returns its own errors (unknown command, a bad argument count)
	// before any hook runs; those are usage errors. After the hook, an
	// error without a code is the command failing. cobra runs only the
	// nearest PersistentPreRun, so no subcommand may define its own.
	started := false
	pre := root.PersistentPreRunE
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		started = true
		if pre != nil {
			return pre(c, args)
		}
		return nil
	}
	help := strictHelp(root)
	root.SetArgs(args)
	c, err := root.ExecuteContextC(ctx)
	// Help, whether --help or the help command, and --version did no work.
	worked := started && !(c == help && help != nil)
	if c == help && help != nil {
		// The hint below names c: "Run 'tool help --help'" would send a
		// user who asked for an unknown topic to help's own help.
		c = root
	}
	if _, coded := err.(*ExitError); !coded && errors.Is(err, syscall.EPIPE) && errors.Is(io.OutErr(), syscall.EPIPE) {
		// cobra returns --version's failed write as its own error, which
		// would read as a usage error (exit 2, "broken pipe"); it is the
		// reader gone, below.
		err = nil
	}
	if _, coded := err.(*ExitError); err != nil && !coded && !started {
		err = &ExitError{Code: ExitUsage, Err: err}
	}
	code := ExitCode(err)
	quiet := false
	switch werr := io.OutErr(); {
	case werr == nil || code != ExitOK:
	case errors.Is(werr, syscall.EPIPE):
		// A command that catches SIGPIPE (see InterruptContext) gets
		// EPIPE instead of dying of it, and one whose writes all came
		// after its work ("sessgc stats | head -1", a consumer of --json
		// that died) has nothing left to stop: it exits as the signal
		// would have it, 141, rather than 0, which says the report was
		// read.
		err = Errorf(signalExitCode(syscall.SIGPIPE), "standard output's reader went away (SIGPIPE), so what %s printed is lost or cut short (its work itself succeeded)", root.Name())
		code = ExitCode(err)
		// Said only where someone may not know: a shell says nothing of a
		// command SIGPIPE killed, a reader that stopped early with stderr
		// on a terminal ("| head -1") was the operator's own choice, and
		// help or --version did no work to speak of. Unattended (cron
		// mail, a log) the line is all that tells a report was lost.
		quiet = io.ErrTTY || !worked
	default:
		// The work was done, but its report was lost or cut short: a
		// log or a script reading it has nothing to go by.
		err = FailureErrorf("standard output could not be written, so what %s printed is lost or incomplete (its work itself succeeded): %w", root.Name(), werr)
		code = ExitFailure
	}
	if err != nil && !quiet {
		var environ []string
		if io.Environ != nil {
			environ = io.Environ()
		}
		fmt.Fprintf(io.ErrOut, "%s: %s\n", root.Name(), shownError(err, args, environ))
		if code == ExitUsage {
			fmt.Fprintf(io.ErrOut, "Run '%s --help' for usage.\n", c.CommandPath())
		}
	}
	return code
}

// InterruptSignals returns the signals InterruptContext stops a command
// on: Ctrl-C, SIGTERM (kill, systemctl stop) and SIGHUP, which the closing
// terminal or ssh session of an operator running the command by hand
// sends, and which would otherwise kill it where it stands. SIGHUP is left
// out when it is ignored (nohup): signal.Notify would undo the operator's
// choice that the command outlive the session.
func InterruptSignals() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// InterruptContext returns a context that the first of InterruptSignals()
// or of the extra signals cancels with an *ExitError cause: 128 plus the
// signal's number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)
// wrapping ErrInterrupted, whose message names the signal ("interrupted
// by SIGTERM"): a run stopped by a service manager or a dropped SSH
// session must not read as a Ctrl-C nobody typed. Commands stop cleanly and return
// context.Cause(ctx). After the first signal the default handling of
// SIGINT and SIGTERM is back, so a second Ctrl-C kills a cleanup that
// hangs; SIGHUP and the extra signals stay caught, and ignored, until the
// returned func is called: no operator sends them to mean it (a dropped
// SSH session's SIGHUP may come twice, or during a Ctrl-C's cleanup).
//
// SIGPIPE, as an extra signal, stops a command whose standard output's
// reader is gone ("sessgc run -v | head") where it would die of it; but a
// caught SIGPIPE comes for a write to any closed pipe or socket, not only
// the standard output, so a command that talks to a server (sessbench and
// Redis) must not ask for it.
func InterruptContext(parent context.Context, extra ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := append(InterruptSignals(), extra...)
	var hold []os.Signal
	for _, s := range sigs {
		if s != os.Interrupt && s != syscall.SIGTERM {
			hold = append(hold, s)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, sigs...)
	// held receives the held signals after the first signal; nothing
	// reads it, and a full channel drops what comes.
	held := make(chan os.Signal, 1)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case s := <-sig:
			// Before sig stops, so that no moment has them unhandled.
			signal.Notify(held, hold...)
			signal.Stop(sig)
			cancel(&ExitError{Code: signalExitCode(s), Err: fmt.Errorf("%w by %s", ErrInterrupted, SignalName(s))})
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		<-finished // held is registered by now, if it is to be
		signal.Stop(sig)
		signal.Stop(held)
		cancel(nil)
	}
}

// SignalName returns the conventional name of the signals InterruptContext
// catches (SIGINT, SIGTERM, SIGHUP, SIGPIPE), and the runtime's
// description of any other.
func SignalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return s.String()
}

func signalExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return ExitInterrupted
}

// Interrupted returns the cause of ctx's end when a signal ended it, and
// err otherwise: a command whose work failed because Ctrl-C cancelled it
// reports the interruption (exit 130), not the context error it got.
func Interrupted(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); ctx.Err() != nil && errors.Is(cause, ErrInterrupted) {
		return cause
	}
	return err
}

// strictHelp makes root's help command, if it has one, fail with a usage
// error for a topic that is not a command: cobra's prints "Unknown help
// topic" and exits 0, so a script or a mistyped "tool help rn" looks
// like success. It returns the help command.
func strictHelp(root *cobra.Command) *cobra.Command {
	root.InitDefaultHelpCmd()
	help, _, err := root.Find([]string{"help"})
	if err != nil || help == root || help.Run == nil {
		return nil
	}
	run := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		cmd, rest, err := c.Root().Find(args)
		if err == nil && cmd != nil {
			// cobra stops at the deepest command it knows; a word past it
			// names a topic that does not exist.
			for _, a := range rest {
				if !strings.HasPrefix(a, "-") {
					err = errors.New(a)
					break
				}
			}
		}
		if cmd == nil || err != nil {
			return UsageErrorf("unknown help topic %q", strings.Join(args, " "))
		}
		run(c, args)
		return nil
	}
	return help
}

// shownError is err's message without a key's secret: cobra and pflag
// quote the command line back (a flag's value, the arguments), and the
// commands their flags' and variables' values (a path), which may hold a
// keys file's text given in the wrong place ("$(cat keys)" where a path
// goes, or unquoted, its words as arguments), and the message goes to
// cron mail and the journal. A flag value refused is not shown at all,
// nor why: the parser's reason quotes pieces of it. Only what the user
// gave, args and the values of environ, is taken out: a file name the
// store made may read as a secret too (see keyline.RedactGiven).
func shownError(err error, args, environ []string) string {
	// Not only where msg Holds a secret: one given in a path stands in
	// a word of msg that is more than the secret (/srv/SECRET).
	msg := err.Error()
	var ive *pflag.InvalidValueError
	if keyline.Holds(msg) && errors.As(err, &ive) && keyline.Holds(ive.GetValue()) {
		msg = strings.Replace(msg, ive.Error(), fmt.Sprintf("invalid argument for --%s: a value that holds a key (not shown), not one of the flag's", ive.GetFlag().Name), 1)
	}
	return keyline.RedactGiven(msg, Given(args, environ)...)
}

// Given is what the user gave a command: its arguments args, and the
// values of environ's "NAME=value" entries. These are the words a message
// may leave out as a key's secret (keyline.RedactGiven): a file name the
// store made may read as one too, and is not the user's to hide.
func Given(args, environ []string) []string {
	given := slices.Clone(args)
	for _, kv := range environ {
		if _, v, ok := strings.Cut(kv, "="); ok {
			given = append(given, v)
		}
	}
	return given
}
