package cmdutil

import (
	"io"
	"os"
	"sync"

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

// System returns the process's standard streams. Its Out remembers a
// failed write, which Execute reports (see OutErr).
func System() *IOStreams {
	return &IOStreams{
		Out: &checkedWriter{w: os.Stdout}, ErrOut: os.Stderr,
		OutTTY: IsTerminal(os.Stdout), ErrTTY: IsTerminal(os.Stderr),
		Getenv: os.Getenv, Environ: os.Environ,
	}
}

// OutErr returns the first error of a write to Out, when Out is the
// process's standard output (System), or nil.
func (s *IOStreams) OutErr() error {
	if c, ok := s.Out.(*checkedWriter); ok {
		return c.failed()
	}
	return nil
}

// checkedWriter is a writer that remembers its first failed write. The
// commands print their lines without checking each write, but a run whose
// summary was lost (standard output redirected to a file on a full disk)
// must not exit 0 as if it had been written.
type checkedWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (c *checkedWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *checkedWriter) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// IsTerminal reports whether f is an interactive terminal. It asks the
// terminal driver (a termios ioctl on Unix, GetConsoleMode on Windows)
// rather than checking for a character device: /dev/null is one too, and
// a cron job with its output sent there is not interactive.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
