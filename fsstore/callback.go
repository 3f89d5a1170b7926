package fsstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// The store calls its user's code (the Observer's methods, the logger's
// handler) on goroutines of its own too: a bounded store's workers, which
// finish and report an operation its caller gave up on; the breaker's
// prober; Health's probe; a sweep's workers; the keys file's watcher.
// A panic there has no caller above it to take it (no net/http recover,
// no middleware's): it ended the process, every request of the app server
// with it, for a metric. So every such call goes through onOwn, which
// logs the panic and lets the goroutine go on with the store's own work.
// A callback on the goroutine of the call it reports (the end of a Load,
// a Save, a Lock) keeps raising its panic there, once the store's state is
// settled, as Range does with its callback's.

// ownCall names a call into the user's code on a goroutine of the store's
// own: the callback (the method of an Observer, say) and the source, the
// work of the store's that calls it. One callback has several sources
// (Observe: a sweep's removals, a late write's end, a keys reload), and
// the panic log limits each pair on its own: keyed by the callback alone,
// a sweep's panics, one per removal, held back the first panic of a late
// write, of another cause perhaps, for up to panicLogEvery.
type ownCall uint8

// The calls onOwn makes, one per pair of callback and source.
const (
	ownLateEnd    ownCall = iota // Observe of a write that ended after its caller gave up
	ownSweep                     // Observe of a sweep's removal
	ownKeysReload                // Observe of a keys file's reload
	ownProber                    // ObserveBreaker of the prober's changes
	ownReadOnly                  // ObserveReadOnlyFS of a late write's end
	ownOpenClose                 // Close of a store whose Open was given up on
	ownKeysFile                  // ObserveKeysFile of a keys file's reload
	ownKeyOrder                  // ObserveNewestKeyBehind of a judgement of the key order
)

// callback names the user's code c calls, as the log does.
func (c ownCall) callback() string {
	switch c {
	case ownLateEnd, ownSweep, ownKeysReload:
		return "Observe"
	case ownProber:
		return "ObserveBreaker"
	case ownReadOnly:
		return "ObserveReadOnlyFS"
	case ownOpenClose:
		return "Close"
	case ownKeysFile:
		return "ObserveKeysFile"
	case ownKeyOrder:
		return "ObserveNewestKeyBehind"
	}
	return "unknown"
}

// source names the store's work that makes c, as the log does.
func (c ownCall) source() string {
	switch c {
	case ownLateEnd, ownReadOnly:
		return "late end"
	case ownSweep:
		return "sweep"
	case ownKeysReload, ownKeysFile:
		return "keys reload"
	case ownProber:
		return "prober"
	case ownOpenClose:
		return "open given up on"
	case ownKeyOrder:
		return "key order"
	}
	return "unknown"
}

// onOwn runs f, the call c into the user's code, on a goroutine of the
// store's own. A panic in it is recovered and logged at Error with its
// stack and attrs (at most once per panicLogEvery for each callback and
// source: see panicLog), and onOwn returns: what f was called for (a
// state change it reports, a count) was done before it, and the caller
// carries on after it as after a return.
func (s *Store) onOwn(c ownCall, f func(), attrs ...any) {
	defer func() {
		if p := recover(); p != nil {
			log, suppressed := s.panics.admit(c)
			if !log {
				return
			}
			args := append([]any{"callback", c.callback(), "source", c.source(), "panic", p, "suppressed", suppressed, "stack", string(debug.Stack())}, attrs...)
			s.cfg.logger.Error("callback panicked on a goroutine of the session store's own; recovered, the store goes on", args...)
		}
	}()
	f()
}

// panicLogEvery is how often the log carries a record of one callback's
// recovered panics from one source once it has logged the first.
const panicLogEvery = time.Minute

// panicLog limits the log of the panics onOwn recovers. An Observer that
// panics on every call panics once per removal of a sweep, per late write,
// per reload: a record with a stack for each, a few KiB, flooded the log
// that the operator needs to read. The first panic of each callback from
// each source (ownCall) is logged; after it, one per panicLogEvery at most,
// with the number of its panics not logged since the record before
// ("suppressed"), and Close logs the number not logged since the last
// record. The stack of each is that
// of the panic it logs. After Close every panic is logged: a write given
// up on may end and report after Close, and no later record would carry
// its count; their number is bounded by the operations Close left in
// flight.
type panicLog struct {
	mu sync.Mutex
	// now is time.Now; tests set their own.
	now    func() time.Time
	by     map[ownCall]*panicRun
	closed bool // flushed by Close: nothing suppressed from then on
}

// panicRun is the panics of one callback from one source since its last
// record.
type panicRun struct {
	logged     time.Time // when its last record was logged
	suppressed int       // its panics since, not logged
}

// admit counts a panic of c and reports whether it is logged, and how
// many of c's panics were not logged since its last record.
func (l *panicLog) admit(c ownCall) (log bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	t := now()
	r := l.by[c]
	switch {
	case r == nil:
		if l.by == nil {
			l.by = make(map[ownCall]*panicRun)
		}
		l.by[c] = &panicRun{logged: t}
		return true, 0
	case !l.closed && t.Sub(r.logged) < panicLogEvery:
		r.suppressed++
		return false, 0
	}
	suppressed, r.suppressed, r.logged = r.suppressed, 0, t
	return true, suppressed
}

// flush logs, for each callback and source, the number of its panics not
// logged since its last record, and resets it; admit logs every panic
// after it.
func (l *panicLog) flush(logger *slog.Logger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c, r := range l.by {
		if r.suppressed > 0 {
			logger.Error("callback panics recovered on the session store's goroutines and not logged since the last such record", "callback", c.callback(), "source", c.source(), "suppressed", r.suppressed)
			r.suppressed = 0
		}
	}
}

// safeHandler is the store's logger's handler, wrapped so that a panic in
// it never leaves the store: the store logs from goroutines of its own,
// which a panic would end the process from, and from the middle of its
// bookkeeping (a sweep with records moved aside, a lock held), which a
// panic would leave half done. The record is lost; the panic is written
// to standard error, the one place left to report a logger that fails,
// as often as panics limits it. The store carries on as after a record
// logged: a sweep's skipped file is counted (SweepStats.Errors) and
// reported to OnError all the same. It is the store's, as the Observer
// is, and so treated as the Observer's methods are on the store's
// goroutines (onOwn), not as Sweep's callbacks, whose panic goes up to
// Sweep's caller.
type safeHandler struct {
	h      slog.Handler
	panics *handlerPanics // shared by the handlers derived from one
}

// handlerPanics limits what standard error gets of a logger's handler's
// panics, as panicLog limits the log of the Observer's: a handler that
// panics on a record of each file a sweep skips wrote a stack for each,
// thousands of them. The first panic is written with its stack; after
// it, one per panicLogEvery at most, with the number not written since
// ("more panics, not written"), and the store's Close writes the number
// not written since the last. After Close every panic is written, as
// panicLog does.
type handlerPanics struct {
	mu sync.Mutex
	// now is time.Now and w os.Stderr; tests set their own.
	now        func() time.Time
	w          io.Writer
	logged     time.Time // when the last panic was written; zero: none yet
	suppressed int       // panics since, not written
	closed     bool
}

func newHandlerPanics() *handlerPanics {
	return &handlerPanics{now: time.Now, w: os.Stderr}
}

// report reports a panic of the logger's handler, p. p is formatted
// before the lock is taken: its String or Error method may log through
// the same logger, whose handler's panic comes back here.
func (hp *handlerPanics) report(p any) {
	text := fmt.Sprint(p)
	hp.mu.Lock()
	defer hp.mu.Unlock()
	t := hp.now()
	if !hp.closed && !hp.logged.IsZero() && t.Sub(hp.logged) < panicLogEvery {
		hp.suppressed++
		return
	}
	more := ""
	if hp.suppressed > 0 {
		more = fmt.Sprintf(" (and %d more panics of it, not written, since the last written)", hp.suppressed)
	}
	hp.logged, hp.suppressed = t, 0
	fmt.Fprintf(hp.w, "fsstore: the logger's handler panicked; log record lost: %s%s\n%s", text, more, debug.Stack())
}

// flush writes the number of panics not written since the last written,
// and has every later one written.
func (hp *handlerPanics) flush() {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	hp.closed = true
	if hp.suppressed > 0 {
		fmt.Fprintf(hp.w, "fsstore: the logger's handler panicked %d more times since the last panic written; their log records were lost\n", hp.suppressed)
		hp.suppressed = 0
	}
}

func (s safeHandler) Enabled(ctx context.Context, l slog.Level) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.report(p)
			ok = false
		}
	}()
	return s.h.Enabled(ctx, l)
}

func (s safeHandler) Handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.report(p)
			err = fmt.Errorf("fsstore: the logger's handler panicked: %v", p)
		}
	}()
	return s.h.Handle(ctx, r)
}

func (s safeHandler) WithAttrs(attrs []slog.Attr) (h slog.Handler) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.report(p)
			h = s
		}
	}()
	return safeHandler{s.h.WithAttrs(attrs), s.panics}
}

func (s safeHandler) WithGroup(name string) (h slog.Handler) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.report(p)
			h = s
		}
	}()
	return safeHandler{s.h.WithGroup(name), s.panics}
}

// safeLogger wraps l's handler in a safeHandler, unless it discards
// everything or is wrapped already.
func safeLogger(l *slog.Logger) *slog.Logger {
	switch h := l.Handler(); h.(type) {
	case safeHandler:
		return l
	default:
		if h == slog.DiscardHandler {
			return l
		}
		return slog.New(safeHandler{h, newHandlerPanics()})
	}
}

// handlerPanicsOf returns the limiter of l's handler's panics, nil where l
// is not wrapped (safeLogger).
func handlerPanicsOf(l *slog.Logger) *handlerPanics {
	if h, ok := l.Handler().(safeHandler); ok {
		return h.panics
	}
	return nil
}
