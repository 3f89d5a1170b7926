package cmdutil

import (
	"io"
	"os"
	"sync"

	"github.com/sessfs/sessfs/internal/keyline"
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
// failed write, which Execute reports (see OutErr). Its ErrOut leaves out
// of each write every key's secret the user gave (RedactedWriter).
func System() *IOStreams {
	return &IOStreams{
		Out:    &checkedWriter{w: os.Stdout},
		ErrOut: RedactedWriter(os.Stderr, keyline.GivenSecrets(Given(os.Args[1:], os.Environ())...)),
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

// RedactedWriter returns w with every one of secrets left out of each
// write (keyline.Secrets.Redact): standard error, where a command's
// errors, warnings and log lines name what the user gave (a path, a
// flag), which may hold a key's secret pasted in the wrong place, and go
// to cron mail and the journal. The errors Execute prints leave them out
// already; a warning printed where it arose ("--dir ... is not empty")
// repeated them. A secret cut across two writes is not caught: every
// line is written whole.
func RedactedWriter(w io.Writer, secrets keyline.Secrets) io.Writer {
	return &redactedWriter{w: w, secrets: secrets}
}

type redactedWriter struct {
	w       io.Writer
	secrets keyline.Secrets
}

func (r *redactedWriter) Write(b []byte) (int, error) {
	s := string(b)
	shown := r.secrets.Redact(s)
	if shown == s {
		return r.w.Write(b)
	}
	// All of b is written, as far as the caller can tell, or none.
	if _, err := io.WriteString(r.w, shown); err != nil {
		return 0, err
	}
	return len(b), nil
}
