package fsstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// panicHandler panics with each of its values in turn, from every method.
type panicHandler struct{ v any }

func (h panicHandler) Enabled(context.Context, slog.Level) bool  { panic(h.v) }
func (h panicHandler) Handle(context.Context, slog.Record) error { panic(h.v) }
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler        { panic(h.v) }
func (h panicHandler) WithGroup(string) slog.Handler             { panic(h.v) }

// enabledPanicHandler is enabled and panics in Handle only, so that a
// record reaches Handle through derived handlers.
type enabledPanicHandler struct{ v any }

func (h enabledPanicHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h enabledPanicHandler) Handle(context.Context, slog.Record) error { panic(h.v) }
func (h enabledPanicHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h enabledPanicHandler) WithGroup(string) slog.Handler             { return h }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestHandlerPanicsCounted: of the panics of a logger's handler, from
// loggers derived from it on many goroutines, with values of every kind,
// each is written or counted in a written line, before and after flush
// (Close), and flush twice counts none twice.
func TestHandlerPanicsCounted(t *testing.T) {
	var out syncBuffer
	var clockMu sync.Mutex
	now := time.Unix(1e9, 0)
	clock := func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		now = now.Add(time.Second) // a written line a minute: some of each
		return now
	}
	values := []any{nil, "text", errors.New("an error"), 42, struct{ A int }{1}}
	const goroutines, each = 8, 50
	total := 0
	var loggers []*slog.Logger
	for _, v := range values {
		for _, h := range []slog.Handler{panicHandler{v}, enabledPanicHandler{v}} {
			l := safeLogger(slog.New(h))
			hp := handlerPanicsOf(l)
			hp.w, hp.now = &out, clock
			loggers = append(loggers, l)
		}
	}
	var wg sync.WaitGroup
	for _, l := range loggers {
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					d := l.With("g", g).WithGroup("grp").With("i", i)
					d.Warn("record")
				}
			}()
		}
	}
	wg.Wait()
	for _, l := range loggers {
		hp := handlerPanicsOf(l)
		hp.flush()
		hp.flush()
		l.Warn("after close")
	}
	// Panics: panicHandler's With, WithGroup, With, then Enabled; each
	// derived handler falls back to the one it came from. enabledPanicHandler:
	// Handle only.
	perPanic := 4
	for range values {
		total += goroutines*each*perPanic + 1 // + the record after close
		total += goroutines*each + 1
	}
	got := strings.Count(out.String(), "fsstore: the logger's handler panicked; log record lost:")
	for _, m := range regexp.MustCompile(`and (\d+) more panics of it`).FindAllStringSubmatch(out.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		got += n
	}
	for _, m := range regexp.MustCompile(`panicked (\d+) more times since`).FindAllStringSubmatch(out.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		got += n
	}
	if got != total {
		t.Errorf("panics written or counted: %d, want %d", got, total)
	}
}

// stringLogs is a panic value whose String logs through a logger.
type stringLogs struct{ l *slog.Logger }

func (s stringLogs) String() string {
	s.l.Warn("from String")
	return "stringLogs"
}

// TestHandlerPanicValueLogs: a panic value whose String method logs
// through the same store's logger, whose handler panics again, does not
// deadlock the limiter.
func TestHandlerPanicValueLogs(t *testing.T) {
	var out syncBuffer
	inner := &selfRef{}
	l := safeLogger(slog.New(inner))
	inner.l = l
	hp := handlerPanicsOf(l)
	hp.w = &out
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Warn("first")
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a deadline for a deadlock, not a wait
		t.Fatal("logging a record whose handler panics with a value that logs did not return: the limiter deadlocked")
	}
}

// selfRef panics, once, with a value whose String logs through l.
type selfRef struct {
	once sync.Once
	l    *slog.Logger
}

func (h *selfRef) Enabled(context.Context, slog.Level) bool { return true }
func (h *selfRef) Handle(context.Context, slog.Record) error {
	first := false
	h.once.Do(func() { first = true })
	if first {
		panic(stringLogs{h.l})
	}
	panic("again")
}
func (h *selfRef) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *selfRef) WithGroup(string) slog.Handler      { return h }
