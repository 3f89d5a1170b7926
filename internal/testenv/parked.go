package testenv

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Parked reports how many goroutines are parked (in a select, a channel
// operation, a lock or a sleep) in fn, a function's full name as a
// traceback prints it ("github.com/sessfs/sessfs/lock.(*Table).acquire"):
// the innermost frame of their stack outside the runtime and the sync
// packages is fn's. A test that wants a wait under way before it ends the
// wait's context polls it: a goroutine parked in the wait has reached it
// with its context still live, where a short deadline may pass before the
// goroutine runs at all, and the wait it ends then shows nothing.
func Parked(fn string) int {
	n := 0
	for _, g := range strings.Split(stacks(), "\n\n") {
		header, frames, _ := strings.Cut(g, "\n")
		if !parkedState(header) {
			continue
		}
		for _, line := range strings.Split(frames, "\n") {
			if line == "" || line[0] == '\t' {
				continue // a frame's file and line
			}
			if strings.HasPrefix(line, "runtime.") || strings.HasPrefix(line, "internal/") || strings.HasPrefix(line, "sync.") {
				continue
			}
			if strings.HasPrefix(line, fn+"(") {
				n++
			}
			break
		}
	}
	return n
}

// ParkedAnew returns a report of whether more goroutines are parked in fn
// (see Parked) than are now: one started after the call has come to wait
// there, whatever waits the process had before.
func ParkedAnew(fn string) func() bool {
	before := Parked(fn)
	return func() bool { return Parked(fn) > before }
}

// parkedState reports whether a traceback's goroutine header
// ("goroutine 7 [select, 2 minutes]:") says it waits for an event, not
// that it runs, may run, or is in a system call (where it may be on its
// way into a wait or out of one).
func parkedState(header string) bool {
	_, state, ok := strings.Cut(header, "[")
	if !ok {
		return false
	}
	state, _, _ = strings.Cut(state, "]")
	state, _, _ = strings.Cut(state, ",")
	switch {
	case state == "select", state == "sleep", state == "semacquire",
		strings.HasPrefix(state, "chan "), strings.HasPrefix(state, "sync."):
		return true
	}
	return false
}

// stacks returns every goroutine's stack.
func stacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Deadline is a context whose deadline the test decides: it ends, with
// context.DeadlineExceeded, when Expire is called, so that a wait under
// test is ended once the test has seen it under way (see Parked), not by
// a timer that may fire before the wait began. Its values are its
// parent's; its parent's end does not end it.
type Deadline struct {
	context.Context
	done    chan struct{}
	once    sync.Once
	at      time.Time // the deadline until Expire: an hour after NewDeadline
	expired time.Time // the instant of Expire, written before done is closed
}

// NewDeadline returns a Deadline with parent's values.
func NewDeadline(parent context.Context) *Deadline {
	return &Deadline{Context: parent, done: make(chan struct{}), at: time.Now().Add(time.Hour)}
}

// Deadline reports a deadline an hour after NewDeadline, and once Expire
// was called the instant it was: code that bounds its own waits by the
// context's deadline sees one, which the test's Expire brings forward,
// and code that reads it after (a commit bounded by its request's
// deadline) finds it passed, as under a deadline that passed. It is fixed
// from the start: a context derived from this one with a timeout of an
// hour or more (http.TimeoutHandler's in a test) then keeps this one's
// deadline, and reports its change, where one computed at each call
// would come after the derived context's own, which would hide it.
func (d *Deadline) Deadline() (time.Time, bool) {
	select {
	case <-d.done:
		return d.expired, true
	default:
		return d.at, true
	}
}

// Done is closed by Expire.
func (d *Deadline) Done() <-chan struct{} { return d.done }

// Err is context.DeadlineExceeded once Expire was called, nil before.
func (d *Deadline) Err() error {
	select {
	case <-d.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// Expire ends the context, as its deadline passing would.
func (d *Deadline) Expire() {
	d.once.Do(func() {
		d.expired = time.Now()
		close(d.done)
	})
}

// WithValues returns a context that ends with d and has ctx's values (a
// request's, say), so that one Expire can end a context made later.
func (d *Deadline) WithValues(ctx context.Context) context.Context {
	return valuesOf{d: d, vals: ctx}
}

// valuesOf is a Deadline with the values of another context.
type valuesOf struct {
	d    *Deadline
	vals context.Context
}

func (c valuesOf) Deadline() (time.Time, bool) { return c.d.Deadline() }
func (c valuesOf) Done() <-chan struct{}       { return c.d.Done() }
func (c valuesOf) Err() error                  { return c.d.Err() }
func (c valuesOf) Value(key any) any           { return c.vals.Value(key) }
