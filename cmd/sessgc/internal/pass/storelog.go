package pass

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/spf13/pflag"
)

// LogLevel is the --log-level of a command that opens a store: the least
// severe of the store's own log records (fsstore.WithLogger) that the
// command prints on stderr. The zero value is warn, the flag's default.
type LogLevel struct {
	set   bool
	level slog.Level
}

// logLevels are the values --log-level takes, least severe first.
const logLevels = "debug, info, warn, error"

// Level returns the level l names.
func (l LogLevel) Level() slog.Level {
	if !l.set {
		return slog.LevelWarn
	}
	return l.level
}

func (l *LogLevel) String() string {
	return strings.ToLower(l.Level().String())
}

// Set takes one of logLevels, in any case ("warning" too: a reader of
// syslog's levels types it).
func (l *LogLevel) Set(s string) error {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "warning" {
		name = "warn"
	}
	switch name {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("want one of %s", logLevels)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(name)); err != nil {
		return err
	}
	*l = LogLevel{set: true, level: lv}
	return nil
}

// Type names the value in help.
func (l *LogLevel) Type() string { return "level" }

// LogLevelFlag adds --log-level (SESSGC_LOG_LEVEL) to f, bound to l.
func LogLevelFlag(f *pflag.FlagSet, l *LogLevel) {
	f.Var(l, "log-level", "print the store's own log records of this level and above on stderr: "+logLevels)
}

// MaxLogLines bounds the store's log records a command prints: a store on
// a failing mount may log for each call that times out, and cron mail
// needs the first ones, not thousands.
const MaxLogLines = 20

// perFile reports whether msg is the message of a store's log record that
// repeats an error the store also hands to the command's OnError, which
// ErrorLog prints (the first of them) and counts: printed twice, they
// would also use up MaxLogLines before a record only the log has.
// fsstore's records carry no attribute that tells them apart, so their
// messages do; sessgc's TestUnreadableShardDirectory fails (an error
// printed twice) if fsstore renames one.
func perFile(msg string) bool {
	switch msg {
	case "sweep: file skipped", "rekey: record failed":
		return true
	}
	return false
}

// StoreLogger returns the logger a command gives the store it opens:
// records of level and above are printed on w as text (logfmt: time=
// level= msg= and the record's attributes), one line each, behind
// "sessgc: " as the command's other lines, for cron mail and the journal.
// The first MaxLogLines are printed, then one line saying the rest are
// not; records that repeat a per-file error the command reports itself
// are left out. Without it the store's warnings (a store directory that
// is not setgid, a FUSE mount's flock, the circuit breaker opening on a
// file server that stopped answering, a key order record that is not
// valid) would reach no one: fsstore discards them unless given a logger.
func StoreLogger(w io.Writer, level LogLevel) *slog.Logger {
	st := &logState{w: w}
	return slog.New(&storeHandler{
		st: st,
		h:  slog.NewTextHandler(&st.buf, &slog.HandlerOptions{Level: level.Level()}),
	})
}

// logState is what the handlers of one StoreLogger share.
type logState struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer // a record as the text handler formats it
	n   int          // records printed or left out for MaxLogLines
}

// storeHandler is StoreLogger's handler: the text handler h writes a
// record into st.buf, whence Handle prints it behind the prefix.
type storeHandler struct {
	st *logState
	h  slog.Handler
}

func (s *storeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return s.h.Enabled(ctx, level)
}

func (s *storeHandler) Handle(ctx context.Context, r slog.Record) error {
	if perFile(r.Message) {
		return nil
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.n++
	switch {
	case s.st.n == MaxLogLines+1:
		_, err := io.WriteString(s.st.w, "sessgc: further log records of the store are not printed\n")
		return err
	case s.st.n > MaxLogLines:
		return nil
	}
	s.st.buf.Reset()
	if err := s.h.Handle(ctx, r); err != nil {
		return err
	}
	_, err := io.WriteString(s.st.w, "sessgc: "+Shown(s.st.buf.String()))
	return err
}

func (s *storeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &storeHandler{st: s.st, h: s.h.WithAttrs(attrs)}
}

func (s *storeHandler) WithGroup(name string) slog.Handler {
	return &storeHandler{st: s.st, h: s.h.WithGroup(name)}
}
