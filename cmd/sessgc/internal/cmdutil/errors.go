package cmdutil

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes of sessgc. They are part of its interface: cron wrappers and
// monitoring act on them (see docs/operations.md).
const (
	// ExitOK: the command did its work, or had nothing to do (another host
	// holds the fleet lock, or --max-duration stopped the sweep early).
	ExitOK = 0
	// ExitPartial: the sweep ran but some files could not be examined or
	// removed, or it was interrupted by a signal.
	ExitPartial = 1
	// ExitUsage: bad flags, arguments or SESSGC_* variables.
	ExitUsage = 2
	// ExitStore: the store is unusable (missing, not a store, unreadable,
	// read-only, locking broken). Nothing was deleted.
	ExitStore = 3
)

// ExitError carries an exit code with the error to print.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageErrorf returns an error that exits with ExitUsage.
func UsageErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// StoreErrorf returns an error that exits with ExitStore.
func StoreErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitStore, Err: fmt.Errorf(format, a...)}
}

// PartialErrorf returns an error that exits with ExitPartial.
func PartialErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitPartial, Err: fmt.Errorf(format, a...)}
}

// ExitCode maps an error returned by a command to the process exit code; the
// one place where that happens. Errors that carry no code come from cobra
// parsing the command line (every command's run function returns an
// ExitError for its own failures), so they are usage errors.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitUsage
}

// NoArgs is a cobra.PositionalArgs that refuses arguments with a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UsageErrorf("%s takes no arguments, got %q (the store is given with --dir)", cmd.CommandPath(), args)
	}
	return nil
}
