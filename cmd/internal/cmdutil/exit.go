package cmdutil

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes shared by the commands. They are part of each command's
// interface (cron wrappers, systemd and scripts act on them); each
// command's --help lists what they mean for it.
const (
	// ExitOK: the command did its work, or had nothing to do.
	ExitOK = 0
	// ExitFailure: the command ran and failed, or did part of its work.
	ExitFailure = 1
	// ExitUsage: bad flags, arguments or environment variables.
	ExitUsage = 2
	// ExitStore: sessgc only: the store is unusable and nothing was
	// changed.
	ExitStore = 3
	// ExitUnresponsive: sessgc only: the store's file server did not
	// answer within --max-duration (unreachable or hung); the pass was
	// abandoned in the middle of a call to it and the process exited.
	ExitUnresponsive = 4
	// ExitCrashed: sessgc only: its worker process crashed (a panic or a
	// Go runtime fatal error: a bug) without reporting how the run ended.
	// Not 2, the status the Go runtime gives a crash, which says "usage
	// error" to whoever reads it.
	ExitCrashed = 5
	// ExitInterrupted is the status after SIGINT (Ctrl-C): 128 plus the
	// signal number, as a shell reports a process killed by it. SIGTERM
	// gives 143 the same way.
	ExitInterrupted = 130
)

// ErrInterrupted is the cause of the context a command runs under once a
// SIGINT or SIGTERM arrived; errors.Is finds it in the error of a command
// that stopped because of it.
var ErrInterrupted = errors.New("interrupted")

// ExitError carries an exit code with the error to print.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Errorf returns an error that makes the process exit with code. It wraps
// as fmt.Errorf does.
func Errorf(code int, format string, a ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, a...)}
}

// UsageErrorf returns an error that exits with ExitUsage.
func UsageErrorf(format string, a ...any) error { return Errorf(ExitUsage, format, a...) }

// FailureErrorf returns an error that exits with ExitFailure.
func FailureErrorf(format string, a ...any) error { return Errorf(ExitFailure, format, a...) }

// StoreErrorf returns an error that exits with ExitStore.
func StoreErrorf(format string, a ...any) error { return Errorf(ExitStore, format, a...) }

// ExitCode maps an error returned by a command to the process exit code;
// the one place where that happens. The outermost ExitError decides; an
// error that carries no code is a failure (ExitFailure). Execute turns
// cobra's own errors (unknown command, bad arguments) into usage errors
// before they get here.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if e, ok := errors.AsType[*ExitError](err); ok {
		return e.Code
	}
	return ExitFailure
}

// NoArgs returns a cobra.PositionalArgs that refuses arguments with a usage
// error; hint says where the command takes its input instead.
func NoArgs(hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return UsageErrorf("%s takes no arguments, got %q (%s)", cmd.CommandPath(), args, hint)
		}
		return nil
	}
}
