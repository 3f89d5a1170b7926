// Package cmdutil holds what every sessgc command shares: injectable I/O
// streams, the mapping from errors to exit codes, SESSGC_* environment
// variables and opening a store safely.
package cmdutil

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// IOStreams are the streams a command reads and writes. Tests pass buffers.
type IOStreams struct {
	Out    io.Writer
	ErrOut io.Writer
	// ErrTTY reports whether ErrOut is an interactive terminal. Progress is
	// drawn only then, so cron logs and journald never get carriage-return
	// noise.
	ErrTTY bool
	// Getenv reads configuration from the environment (os.Getenv by default).
	Getenv func(string) string
}

// System returns the process's standard streams.
func System() *IOStreams {
	return &IOStreams{Out: os.Stdout, ErrOut: os.Stderr, ErrTTY: isTerminal(os.Stderr.Fd()), Getenv: os.Getenv}
}

// isTerminal reports whether fd is a terminal: TCGETS succeeds only on one.
func isTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	return err == nil
}
