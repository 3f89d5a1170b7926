package pass

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// MaxErrorLines bounds the error lines printed and kept for --json: a pass
// over a broken mount may fail on every file, and an operator needs the
// first few and the count, not a million lines in a cron mail.
const MaxErrorLines = 20

// ErrorLog prints the first MaxErrorLines errors of a pass on w and keeps
// them for the JSON summary; Count covers all of them. It is safe for
// concurrent use by the pass's workers.
type ErrorLog struct {
	mu      sync.Mutex
	w       io.Writer
	n       int
	samples []string
}

// NewErrorLog returns an ErrorLog printing on w.
func NewErrorLog(w io.Writer) *ErrorLog { return &ErrorLog{w: w} }

// Add records err.
func (l *ErrorLog) Add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.n > MaxErrorLines {
		return
	}
	msg := Shown(err.Error())
	l.samples = append(l.samples, msg)
	fmt.Fprintf(l.w, "sessgc: %s\n", msg)
	if l.n == MaxErrorLines {
		fmt.Fprintf(l.w, "sessgc: further errors are counted, not printed\n")
	}
}

// Samples returns the errors kept (at most MaxErrorLines).
func (l *ErrorLog) Samples() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.samples...)
}

// Stderr returns the error log and the store's logger (see StoreLogger)
// of a command that prints both on w, its stderr. They write through one
// lock: the pass's workers print errors and the store logs at the same
// time, and each only locked its own, so that on a w that is not one
// write call per line to a file (a buffer, a writer that splits writes)
// a line of one could go into a line of the other.
func Stderr(w io.Writer, level LogLevel) (*ErrorLog, *slog.Logger) {
	sw := &syncWriter{w: w}
	return NewErrorLog(sw), StoreLogger(sw, level)
}

// syncWriter serializes the writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
