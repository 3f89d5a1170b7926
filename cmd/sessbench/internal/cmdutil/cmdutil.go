// Package cmdutil holds what the sessbench commands share: the error kinds
// that decide the exit code, and the terminal streams.
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// FlagError is a usage error: a bad flag value or combination. The command
// prints it with a hint to see --help and exits with status 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a FlagError with a formatted message.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrInterrupted reports that the run was stopped by a signal (Ctrl-C).
var ErrInterrupted = errors.New("interrupted")

// IOStreams are the command's input and output, and whether they are
// terminals (which decides the progress bar).
type IOStreams struct {
	Out, ErrOut          io.Writer
	StdoutTTY, StderrTTY bool
}

// System returns the process's real streams.
func System() *IOStreams {
	return &IOStreams{Out: os.Stdout, ErrOut: os.Stderr, StdoutTTY: isTerminal(os.Stdout), StderrTTY: isTerminal(os.Stderr)}
}

// isTerminal reports whether f is a character device. That is true of a
// terminal and of /dev/null (where a progress bar does no harm), and false
// of files and pipes, which is what matters: no bar in captured output. It
// needs no platform-specific ioctl.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
