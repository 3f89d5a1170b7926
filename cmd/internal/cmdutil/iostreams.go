package cmdutil

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes. Tests pass buffers
// and their own Getenv.
type IOStreams struct {
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY report whether Out and ErrOut are interactive
	// terminals. Progress is drawn only on one, so cron mail, journald and
	// captured output never get carriage-return noise.
	OutTTY, ErrTTY bool
	// Getenv reads configuration from the environment (os.Getenv by
	// default).
	Getenv func(string) string
	// Environ lists the environment (os.Environ by default), for a
	// command that checks its variables' names; nil skips the check.
	Environ func() []string
}

// System returns the process's standard streams.
func System() *IOStreams {
	return &IOStreams{
		Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY: IsTerminal(os.Stdout), ErrTTY: IsTerminal(os.Stderr),
		Getenv: os.Getenv, Environ: os.Environ,
	}
}

// IsTerminal reports whether f is an interactive terminal. It asks the
// terminal driver (a termios ioctl on Unix, GetConsoleMode on Windows)
// rather than checking for a character device: /dev/null is one too, and
// a cron job with its output sent there is not interactive.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
