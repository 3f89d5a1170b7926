package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/lock"
)

// Defaults of the bound on store work (see WithMaxInFlight, WithOpTimeout
// and WithBreaker, and docs/design.md, "Bounded store work").
const (
	// DefaultMaxInFlight is the default bound on a Store's operations in
	// flight on a network filesystem: far above what a healthy server
	// needs (an operation takes a few round trips, so 64 at once carry
	// thousands of requests a second), low enough that an outage parks at
	// most this many goroutines and OS threads in the kernel.
	DefaultMaxInFlight = 64
	// DefaultOpTimeout is the default ceiling on a step of an operation that
	// gets no answer from the filesystem, for callers whose context has no
	// earlier deadline (background work, commits detached from a request). A
	// healthy NFS or EFS server answers in milliseconds, a busy one in
	// hundreds of them; ten seconds is well past both and still short enough
	// that a load balancer's health check sees the outage.
	DefaultOpTimeout = 10 * time.Second
	// DefaultBreakerFailures is how many operations in a row must run out
	// of time before the circuit breaker opens.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long an open breaker waits before
	// its first probe of the server, and between probes that fail.
	DefaultBreakerCooldown = 5 * time.Second
)

// WithMaxInFlight bounds the operations of this Store that may wait for the
// filesystem at once, counting those it gave up on that are still stuck in
// the kernel and the releases of session locks under way. An operation
// that finds the bound full fails at once with ErrUnavailable. A Lock
// waiting for a holder takes a slot only for each attempt, and its polls
// leave a quarter of the bound (at least one slot) free for the reads and
// saves of requests that hold their locks. With
// n ≥ 1 every operation runs on a goroutine of its own, so that the caller
// can be answered at its context's deadline (and WithOpTimeout's ceiling)
// even when a system call on a hard NFS mount never returns; the circuit
// breaker (WithBreaker) is then active too.
// n = 0 runs operations on the caller's goroutine: no deadline, no bound,
// no breaker.
//
// The default is DefaultMaxInFlight on NFS (AWS EFS included) and 0 on
// local filesystems, where a system call does not wait for a server and
// the hand-off to another goroutine would cost more than the operation
// (docs/measurements.md). Set it for other network filesystems. n must lie
// within 0..65536.
func WithMaxInFlight(n int) Option {
	return optionFunc(func(c *config) { c.maxInFlight, c.maxInFlightSet = n, true })
}

// WithOpTimeout sets the store-level ceiling on how long an operation waits
// for the filesystem without progress (default DefaultOpTimeout), applied
// on top of the context's deadline: the earlier of the two ends the wait
// with ErrUnavailable. The ceiling counts from the start of each step of an
// operation (a lock attempt, a read, writing a temp file, the rename that
// publishes it, the lock check after it), not from the operation's start: a
// server that does not answer leaves a step unfinished forever, while a
// client whose CPU is saturated (an operation queued behind many others for
// a core) finishes its steps late but finishes them, and is not taken for
// an outage. A step may be several system calls (the rename and the
// directory sync after it; a Delete's unlinks). The caller's context bounds
// the operation as a whole; without a deadline, a server that answers each
// step just within the ceiling can keep an operation of several steps going
// for several ceilings. A step that has waited a ceiling while the server
// answered the store's other calls is queued behind them (a burst fills
// the NFS client's RPC slots, which serve calls in turn), not lost with
// the server: it is given up on once the server has answered none of the
// store's calls for a ceiling, and at three ceilings in any case (a server
// that holds up one call while it answers the rest); Health and scans keep
// one ceiling. A wait for another lock holder (Lock, CompareAndSwap) is
// not bounded by it, only by the context; each call into the OS while
// waiting is. A scan (Sweep, Stats, Rekey, Range) is bounded
// by it only once its context has ended (see Store.Sweep). Only a bounded
// Store (WithMaxInFlight) enforces it. d must be positive.
func WithOpTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.opTimeout = d })
}

// WithBreaker sets the circuit breaker of a bounded Store: after failures
// operations in a row run out of time (their context's deadline or the
// WithOpTimeout ceiling) with no answer of the server between them, the
// breaker opens and every new operation fails at once with
// ErrUnavailable; after cooldown one background probe asks the server for
// the store directory's attributes and opens its marker file, and its
// answer closes the breaker. Defaults DefaultBreakerFailures and DefaultBreakerCooldown;
// failures must be at least 1 and cooldown positive.
func WithBreaker(failures int, cooldown time.Duration) Option {
	return optionFunc(func(c *config) { c.breakerFailures, c.breakerCooldown = failures, cooldown })
}

// withTestFS makes hook run where a hung server would block a bounded
// store's work: at the start of each operation (site: its name), before
// each lock attempt ("lock"), before a save creates its temp file
// ("write"), once a write has committed to its rename or
// its single system call ("commit"), in probes ("probe"; the breaker's
// before its open of the marker too, "probe-open"), whenever the
// store's directory descriptor is in use ("root"), before a session lock
// is released ("unlock"), when an operation under a Locked is refused
// ("refused"), when a lock wait ends with its context
// ("lock-give-up"), after a lock's first attempt ("lock-first-done") and
// when a waiter refused a slot tries again ("lock-requeue"), before a
// changed keys file's keys are checked against the store ("keys"), and in
// a waiter whose context ended while its operation was inside the
// filesystem, before it takes the outcome away from the operation
// ("abandon"), or outside it ("abandon-outside": the operation then ends
// by itself), and in the waiter of a step inside the filesystem past its
// ceiling that it waits on (patience: "wait-on"). Tests block in it on channels to play a server that does
// not answer, or to line up a race.
func withTestFS(hook func(site string)) Option {
	return optionFunc(func(c *config) { c.testFS = hook })
}

// withTestAfter replaces time.After for the breaker's cool-down, so tests
// decide when a probe starts.
func withTestAfter(after func(time.Duration) <-chan time.Time) Option {
	return optionFunc(func(c *config) { c.testAfter = after })
}

// withTestBoundClock replaces the monotonic clock by which a bounded
// store times its steps inside the filesystem and the server's answers
// (opwatch.Bound.Clock), so that tests decide how long a step has waited
// and when the server last answered (patience) whatever the machine's
// speed. The ceiling's timers stay real: they only say when to look.
func withTestBoundClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.testBoundNow = now })
}

// withTestHealthClock replaces time.Now for how long Health's probe has
// gone unanswered, so tests decide which of its ceilings a caller gives up
// in.
func withTestHealthClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.testHealthNow = now })
}

// healthNow is the clock of Health's probes (see withTestHealthClock).
func (s *Store) healthNow() time.Time {
	if s.cfg.testHealthNow != nil {
		return s.cfg.testHealthNow()
	}
	return time.Now()
}

// BreakerState is the state of a Store's circuit breaker.
type BreakerState uint8

const (
	// BreakerClosed: operations run.
	BreakerClosed BreakerState = iota
	// BreakerOpen: operations fail at once with ErrUnavailable, until a
	// probe of the server succeeds.
	BreakerOpen
	// BreakerProbing: open, with a probe of the server in flight.
	BreakerProbing
)

var breakerNames = [...]string{"closed", "open", "probing"}

func (b BreakerState) String() string {
	if int(b) < len(breakerNames) {
		return breakerNames[b]
	}
	return fmt.Sprintf("BreakerState(%d)", int(b))
}

// A BreakerObserver is an Observer that also wants to know each change of
// the circuit breaker. ObserveBreaker gets the state the breaker left as
// well as the one it entered, so that stores sharing one observer can be
// counted: the new state alone does not tell a breaker that opens (from
// closed) from a probe that failed or was given up on (from probing); both
// are BreakerOpen.
//
// ObserveBreaker is called once per change, never with from equal to to; a
// store's first call is from BreakerClosed and each next one from the last
// one's to. Close reports an open or probing breaker's change to
// BreakerClosed (a closed store has no open breaker: see Store.Breaker)
// and nothing is reported after it, so a closed store's calls end at
// BreakerClosed and a count kept from them drops a store that is no longer
// used, whose probes stop at Close. The calls of one store are made one at
// a time, in the order of the changes, from the goroutine that made each;
// ObserveBreaker must not block. A panic in it goes up that goroutine (to
// the caller of the operation that opened the breaker, which then still
// gets its probe, or of Close) after the change was made; on the goroutine
// of the breaker's prober, which has no caller, it is logged as an error
// with its stack, and the prober goes on (see Observer).
type BreakerObserver interface {
	Observer
	ObserveBreaker(from, to BreakerState)
}

// Bounded reports whether the Store bounds its operations
// (WithMaxInFlight n ≥ 1: by default on NFS and EFS, not on a local
// filesystem). Only then may a call wait on a server that does not answer,
// so code that hands a store call to a goroutine of its own to stop
// waiting for it needs to do so only then.
func (s *Store) Bounded() bool { return s.bnd != nil }

// Breaker reports the state of the Store's circuit breaker (always
// BreakerClosed for a Store that is not bounded or is closed).
func (s *Store) Breaker() BreakerState {
	if s.bnd == nil || s.closed.Load() {
		return BreakerClosed
	}
	return BreakerState(s.bnd.brk.state.Load())
}

// bounder runs a bounded Store's operations: each on a goroutine of its
// own, at most max at once, each waited for until the caller's context
// ends or the ceiling passes, whichever is first.
type bounder struct {
	s       *Store
	timeout time.Duration
	slots   opwatch.Bound
	hook    func(site string)
	// closed reports whether the breaker is closed: the Gate of every
	// call, which lets a lock waiter refused a slot try again later.
	closed func() bool
	brk    breaker
	calls  sync.Pool

	// Workers run the calls. They are kept, up to maxIdle idle ones,
	// because a fresh goroutine's stack must grow to the depth of the
	// filesystem code on every call, which costs more than the call
	// (docs/measurements.md). work hands a call to an idle worker; Close
	// closes it, which ends them. workMu (held shared to send) keeps a
	// send from meeting the closed channel: cheaper than a select on a
	// second channel in every worker's wait.
	work     chan *call
	workMu   sync.RWMutex
	workDone bool // work is closed
	idle     atomic.Int64
	maxIdle  int64
}

// call is one operation handed to a goroutine. The waiter reads its
// results once done has delivered; a call whose waiter gave up belongs to
// its goroutine and is never reused.
type call struct {
	op    opwatch.Op
	b     *bounder
	what  string // for errors: "load", "save", …
	kind  Op     // for a late write's Event
	fn    func(*call) error
	done  chan error
	timer *time.Timer
	l     *Locked // the Locked the operation runs under, if any
	name  string  // record file name, for logs
	slot  bool    // holds a slot from its start to its end
	// release: the call releases a session lock (bounder.unlock), whose
	// error, once its caller has been answered, only the log can carry.
	release bool
	// unanswered: the operation succeeded without a call the server
	// must have answered (a cache hit judged on the client's cached
	// attributes, see fetchesFresh): no answer for the breaker or
	// patience.
	unanswered bool

	sess *Session
	h    *lock.Handle
	// bytes: the payload bytes a write writes, which its late event
	// reports once it is applied.
	bytes int
}

func newBounder(s *Store, c *config) *bounder {
	b := &bounder{s: s, timeout: c.opTimeout, hook: c.testFS, work: make(chan *call), maxIdle: int64(c.maxInFlight)}
	b.slots.Max = int64(c.maxInFlight)
	if now := c.testBoundNow; now != nil {
		// Readings above 0, which LastAnswer keeps for "no answer yet".
		start := now()
		b.slots.Clock = func() int64 { return int64(now().Sub(start)) + 1 }
	}
	b.brk = breaker{b: b, failures: int32(c.breakerFailures), cooldown: c.breakerCooldown, after: c.testAfter, stop: make(chan struct{})}
	if b.brk.after == nil {
		b.brk.after = time.After
	}
	b.closed = func() bool { return BreakerState(b.brk.state.Load()) == BreakerClosed }
	return b
}

func (b *bounder) get(what string, kind Op, name string) *call {
	c, _ := b.calls.Get().(*call)
	if c == nil {
		c = &call{b: b, done: make(chan error, 1)}
		c.op.Woken = make(chan struct{}, 1)
	}
	c.what, c.kind, c.name = what, kind, name
	c.op.Hook, c.op.Bound, c.op.Gate = b.hook, &b.slots, b.closed
	return c
}

// put returns a call to the pool, unless its waiter gave up on it: it
// then belongs to its goroutine.
func (b *bounder) put(c *call) {
	if c.op.Detached() {
		return
	}
	c.op.Reset()
	c.fn, c.l, c.sess, c.h, c.slot, c.release, c.unanswered, c.bytes = nil, nil, nil, nil, false, false, false, 0
	b.calls.Put(c)
}

// hook marks the operation's progress at site, the start of one of its
// steps (see opwatch.Op.Progress), and runs the test hook there.
func (c *call) hook(site string) {
	if c != nil {
		c.op.Progress()
		c.op.RunHook(site)
	}
}

// progress marks the end of a step that no hook site follows.
func (c *call) progress() {
	if c != nil {
		c.op.Progress()
	}
}

// commit is the last point where an operation given up on skips its write:
// false once its waiter has returned ErrUnavailable. Called right before
// the rename (or single system call) that makes a write visible.
func (c *call) commit() bool {
	if c == nil {
		return true
	}
	if !c.op.Commit() {
		return false
	}
	c.hook("commit")
	return true
}

// errAbandoned fails a write whose caller had already been told the store
// is unavailable, before it changed anything.
var errAbandoned = errors.New("operation given up on by its caller; skipped")

// How run admits an operation.
const (
	// fsOp: inside the filesystem from its start to its end; takes a slot
	// for all of it, or fails at once.
	fsOp = iota
	// lockOp: waits for a lock holder between its calls into the
	// filesystem, which take a slot each (opwatch.Op.Enter); the wait
	// takes none. Its first call fails when no slot is free; a later
	// one, refused, counts as a poll that found the lock held (while the
	// breaker is closed), and once the lock is granted the operation
	// runs to its end even over the bound. The later ones leave a
	// quarter of the bound to other calls (opwatch.Op.EnterPoll).
	lockOp
	// forcedOp: an fsOp that takes a slot even over the bound and while
	// the breaker is open: releasing a lock must never be refused.
	forcedOp
)

func (b *bounder) breakerErr(what string) error {
	if st := BreakerState(b.brk.state.Load()); st != BreakerClosed {
		return fmt.Errorf("fsstore: %s: %w: circuit breaker %s", what, ErrUnavailable, st)
	}
	return nil
}

func (b *bounder) fullErr(what string) error {
	return fmt.Errorf("fsstore: %s: %w: %d operations already waiting for the filesystem (WithMaxInFlight)", what, ErrUnavailable, b.slots.Max)
}

// refusedErr is the error of a lock wait that ended on a call refused a
// slot (lockErr, from the lock package): a poll is refused and not tried
// again when the waiter's context has ended, and the caller then learns
// what a wait that ran out of time says (ErrLocked and the context's
// error), or when the store is known not to answer (the open breaker).
// Otherwise the bound was full at the first attempt.
func (b *bounder) refusedErr(ctx context.Context, what string, lockErr error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("fsstore: %s: %w", what, lockErr)
	}
	if err := b.breakerErr(what); err != nil {
		return err
	}
	return b.fullErr(what)
}

// run runs c.fn on a goroutine of its own and waits for it (see wait);
// the caller takes c's results and then puts it back. An operation that
// the breaker or a full bound refuses fails at once. An operation under a
// Locked was counted as running by Locked.enter; its goroutine ends it.
func (b *bounder) run(ctx context.Context, c *call, mode int) error {
	var err error
	switch mode {
	case forcedOp:
		b.slots.Acquire()
		c.slot = true
	case fsOp:
		if err = b.breakerErr(c.what); err == nil {
			if c.slot = b.slots.TryAcquire(); !c.slot {
				err = b.fullErr(c.what)
			}
		}
	case lockOp:
		err = b.breakerErr(c.what)
	}
	if err != nil {
		if c.l != nil {
			c.hook("refused")
			// A release of the lock that Unlock left to this operation
			// is a round trip that may hang (the breaker may be open
			// because the server does not answer): the refused caller
			// has its error at once, the release goes on by itself.
			if release := c.l.endLater(); release != nil {
				go release()
			}
		}
		return err
	}
	if mode != lockOp {
		c.op.MarkInOS()
	}
	b.start(c)
	return b.wait(ctx, c)
}

// start hands c to an idle worker, or to a new one.
func (b *bounder) start(c *call) {
	b.workMu.RLock()
	if !b.workDone {
		select {
		case b.work <- c:
			b.workMu.RUnlock()
			return
		default:
		}
	}
	b.workMu.RUnlock()
	go b.worker(c)
}

func (b *bounder) worker(c *call) {
	for {
		c.work()
		if b.idle.Add(1) > b.maxIdle {
			b.idle.Add(-1)
			return
		}
		var ok bool
		if c, ok = <-b.work; !ok {
			return
		}
		b.idle.Add(-1)
	}
}

// stopWorkers ends the idle workers; busy ones end after their call.
func (b *bounder) stopWorkers() {
	b.workMu.Lock()
	b.workDone = true
	close(b.work)
	b.workMu.Unlock()
}

func (c *call) work() {
	err := c.fn(c)
	if err == nil && c.kind != OpLockWait && !c.unanswered {
		// A load, save, compare-and-swap, touch or delete that
		// succeeded had the server's answer (patience), unless the
		// client's caches alone served it (unanswered). A lock or a
		// release may have been shared in the process, without a call;
		// a lock attempt granted records its own answer. An error may
		// come from the client alone (an argument refused, a soft
		// mount's timeout).
		c.op.Answered()
	}
	// The operation has ended for its Locked, but a release of the lock
	// that Unlock left to it (a round trip that may hang) waits until the
	// caller has its outcome: c may be back in the pool by then.
	var release func()
	if c.l != nil {
		release = c.l.endLater()
	}
	slot := c.slot
	late := c.op.Finish()
	if late {
		// Given up on, c is this goroutine's. Its slots (the operation's,
		// and the one its last call into the filesystem holds: a
		// compare-and-swap's) are kept through late, whose unlock of a
		// lock acquired meanwhile may hang like the operation did: the
		// bound counts that round trip too, and once the slots are free
		// every late outcome has been logged and reported. A lock wait
		// holds no slot of its own and gave back its attempt's: its late
		// unlock takes one (a release is never refused).
		if !slot && c.h != nil {
			c.b.slots.Acquire()
			slot = true
		}
		c.late(err)
	}
	c.op.Exit()
	if slot {
		c.b.slots.Release()
	}
	if !late {
		c.done <- err // last: the waiter may put c back in the pool
	}
	if release != nil {
		release()
	}
}

// wait waits for c until ctx ends or the operation has been inside the
// filesystem for the ceiling since its last progress (longer while the
// store's other calls are answered: see patience). Given up on inside
// the filesystem, it returns ErrUnavailable at once and leaves c to its
// goroutine; given up on outside (a lock's wait for its holder), c ends by
// itself and wait takes its outcome, unless c enters the filesystem after
// all (to release a lock it no longer wants): wait then leaves it to its
// goroutine too.
func (b *bounder) wait(ctx context.Context, c *call) error {
	if c.timer == nil {
		c.timer = time.NewTimer(b.timeout)
	} else {
		c.timer.Reset(b.timeout)
	}
	done := ctx.Done()
	for {
		select {
		case err := <-c.done:
			c.timer.Stop()
			if c.kind != OpLockWait && !c.unanswered {
				// A lock or a release may have been shared in the
				// process, with no call to the server: in an outage
				// the stripes are held by the requests stuck in the
				// file system, and a Lock sharing one would end every
				// row of timeouts. A lock attempt the server granted
				// records its answer (see breaker.timeout). A cache
				// hit may have asked the server nothing either
				// (unanswered).
				b.brk.ok()
			}
			if errors.Is(err, errAbandoned) {
				// Given up on (Abandon) inside the filesystem, it reached
				// its commit before Detach took its outcome away, skipped
				// its write and finished: the caller learns what one given
				// up on a moment earlier learns, not the internal error.
				// Only Abandon, on the context's end, lets it skip here.
				return fmt.Errorf("fsstore: %s: %w (%w)", c.what, ErrUnavailable, ctx.Err())
			}
			return err
		case <-done:
			done = nil
			if inOS, fin := c.op.Abandon(); fin || !inOS {
				if !fin && b.hook != nil {
					b.hook("abandon-outside")
				}
				continue
			}
			if c.op.InOSAlways() && (c.kind == OpLockWait || !c.op.WasGranted()) {
				// Inside the OS only to release a lock it no longer
				// wants, having given up on its wait before this
				// waiter saw the context end: as for the Woken case
				// below, its wait ended; the release is not the
				// server failing to answer the lock wait. (A
				// CompareAndSwap granted its lock over the bound
				// works inside the OS this way too, on its own.)
				if ok, _ := c.op.Detach(); ok {
					return waitedOut(c, ctx.Err())
				}
				continue
			}
			if b.hook != nil {
				b.hook("abandon")
			}
			if c.op.Polling() {
				// A poll of a lock found held elsewhere was on the wire
				// when the wait ended (a Lock's, or a CompareAndSwap's
				// before its lock was granted, opwatch.Op.Granted): one
				// round trip of many, most
				// likely answered in milliseconds, not a sign that the
				// server does not answer. The wait timed out (ErrLocked),
				// and the breaker does not count it: under contention,
				// counting it opened the breaker for the whole store. A
				// server that does not answer still shows in the first
				// attempts of lock waits and in every other call. A lock
				// that poll is granted is released in the background.
				if ok, _ := c.op.Detach(); ok {
					return fmt.Errorf("fsstore: %s: %w while waiting for the holder (%w)", c.what, ErrLocked, ctx.Err())
				}
				continue
			}
			if ok, committed := c.op.Detach(); ok {
				return b.gaveUp(c, committed, ctx.Err(), false)
			}
		case <-c.op.Woken:
			// Given up on outside the filesystem, the operation entered
			// it anyway for a call that must be made (releasing a lock
			// it no longer wants): that call may hang like any other,
			// and the caller's context has ended. The caller learns what
			// it would have learnt without the release: its wait ended.
			if inOS, _ := c.op.InOS(); inOS {
				if ok, _ := c.op.Detach(); ok {
					return waitedOut(c, ctx.Err())
				}
			}
		case <-c.timer.C:
			inOS, since := c.op.InOS()
			if inOS {
				rest, capped := b.patience(since)
				if rest > 0 {
					if b.hook != nil {
						b.hook("wait-on")
					}
					c.timer.Reset(rest)
					continue
				}
				if ok, committed := c.op.Detach(); ok {
					return b.gaveUp(c, committed, nil, capped)
				}
				continue // finished meanwhile: done has its outcome
			}
			c.timer.Reset(b.timeout)
		}
	}
}

// unlock releases h on a goroutine of its own: a release is never refused
// (it takes a slot even over the bound), waited for up to the ceiling, and
// not waited for at all while the breaker is open.
func (b *bounder) unlock(h *lock.Handle, name string) error {
	c := b.get("unlock", OpLockWait, name)
	c.release = true
	c.fn = func(c *call) error {
		c.hook("unlock")
		return h.Unlock()
	}
	if st := BreakerState(b.brk.state.Load()); st != BreakerClosed {
		b.slots.Acquire()
		c.slot = true
		c.op.MarkInOS()
		c.op.Detach()
		b.start(c)
		return fmt.Errorf("fsstore: unlock: %w: circuit breaker %s; the lock is released in the background", ErrUnavailable, st)
	}
	err := b.run(context.Background(), c, forcedOp)
	b.put(c)
	return err
}

// boundScan runs a scan (Sweep, Stats, Rekey, Range) on a bounded
// store: on a goroutine of its own, holding one slot, refused while the
// breaker is open. A scan checks its context between files, so it ends
// soon after ctx does unless a system call is stuck; boundScan waits for
// it that long plus the ceiling, then gives up with ErrUnavailable and
// leaves the scan to end in the background. Its results are returned only
// when it ends in time.
//
// caller, when not nil, reports whether the scan is running its caller's
// own code (Range's fn; Sweep's, Stats' and Rekey's OnRemove and
// OnError, Sweep's OnForeign) rather than waiting for the filesystem, and
// how long ago that code last returned (by the monotonic clock): the
// caller's time is neither given up on nor counted as a timeout, and the
// scan has a whole ceiling after it.
func boundScan[T any](ctx context.Context, s *Store, what string, caller func() (inside bool, since time.Duration), fn func(context.Context) (T, error)) (T, error) {
	b := s.bnd
	if b == nil {
		return fn(ctx)
	}
	var zero T
	if err := b.breakerErr(what); err != nil {
		return zero, err
	}
	if !b.slots.TryAcquire() {
		return zero, b.fullErr(what)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		if b.hook != nil {
			b.hook(what)
		}
		v, err := fn(ctx)
		b.slots.Release()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
	}
	t := time.NewTimer(b.timeout)
	defer t.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-t.C:
			if caller != nil {
				inside, since := caller()
				if inside {
					t.Reset(b.timeout)
					continue
				}
				// A tick just after the callback returned would leave
				// the scan's own reads only what remained of the period.
				if rest := b.timeout - since; rest > 0 {
					t.Reset(rest)
					continue
				}
			}
			b.brk.timeout()
			return zero, fmt.Errorf("fsstore: %s: %w: a system call still had no answer %v after the context ended (%w)", what, ErrUnavailable, b.timeout, ctx.Err())
		}
	}
}

// detachedCopy is what a bounded write works on: a copy of sess with its
// own payload, so that a write left to finish in the background never
// reads or changes what its caller holds.
func detachedCopy(sess *Session) *Session {
	cp := *sess
	cp.Data = append([]byte(nil), sess.Data...)
	return &cp
}

// queuedCeilings is how many ceilings a step waits for the filesystem at
// most while the store's other calls keep being answered (see patience).
const queuedCeilings = 3

// patience reports how much longer a step inside the filesystem since
// since (a b.slots.Now reading) is waited for, and whether that wait ends
// at the cap rather than after a ceiling without answers. A step is given
// up on once it has waited a ceiling and the server has answered none of
// the store's calls for a ceiling, and at queuedCeilings ceilings in any
// case. A server that does not answer answers none of them; one that
// answers others is busy (its own CPU, or the client's RPC slots, which a
// burst of calls fills and which serve them in turn), and a step queued
// behind the others has its answer coming. The cap gives up on a call the
// server holds up while it answers the rest (a file in recovery).
func (b *bounder) patience(since int64) (rest time.Duration, capped bool) {
	end := since + int64(b.timeout)
	if last := b.slots.LastAnswer(); last > since {
		end = last + int64(b.timeout)
		if limit := since + queuedCeilings*int64(b.timeout); end >= limit {
			end, capped = limit, true
		}
	}
	return time.Duration(end - b.slots.Now()), capped
}

// gaveUp is the caller's error for an operation left to finish in the
// background. ctxErr is the context's error, nil for the ceiling; capped
// says the step then waited queuedCeilings ceilings while the server
// answered other calls (see patience).
func (b *bounder) gaveUp(c *call, committed bool, ctxErr error, capped bool) error {
	// Marked broken first: the timeout may open the breaker, and a panic
	// of the observer told so goes up to the caller from there.
	if c.l != nil {
		c.l.markBroken()
	}
	if ctxErr == nil || errors.Is(ctxErr, context.DeadlineExceeded) {
		b.brk.timeout()
	}
	var err error
	switch {
	case ctxErr != nil:
		err = fmt.Errorf("fsstore: %s: %w (%w)", c.what, ErrUnavailable, ctxErr)
	case capped:
		err = fmt.Errorf("fsstore: %s: %w: no answer within %v, though the filesystem answered other calls meanwhile", c.what, ErrUnavailable, queuedCeilings*b.timeout)
	default:
		err = fmt.Errorf("fsstore: %s: %w: no answer within %v", c.what, ErrUnavailable, b.timeout)
	}
	if committed {
		err = fmt.Errorf("%w; its write was under way: %w", err, ErrInDoubt)
	}
	return err
}

// waitedOut is the error of an operation whose caller's context ended
// while it waited for a session lock's holder, and which then had to
// release a lock it no longer wanted (see opwatch.Op.Woken): a lock wait
// timed out (ErrLocked), for Lock and CompareAndSwap alike, as when no
// release followed. The store did not fail to answer: the breaker does
// not count it.
func waitedOut(c *call, ctxErr error) error {
	return fmt.Errorf("fsstore: %s: %w while waiting for the holder (%w); the lock is released in the background", c.what, ErrLocked, ctxErr)
}

// late deals with the outcome of an operation whose caller was told the
// store is unavailable: a lock acquired meanwhile is released, and a write
// that went through is reported, never passed off as not having happened.
func (c *call) late(err error) {
	s := c.b.s
	if c.release {
		// Its caller was told the release goes on in the background
		// (the breaker open, or no answer within the ceiling): a failure
		// there, a lock found lost at its release, is logged as the
		// release that Unlock leaves to an operation logs it.
		if err != nil {
			s.cfg.logger.Warn("releasing a session lock in the background failed", "file", c.name, "err", err)
		}
		return
	}
	if c.h != nil {
		if c.b.hook != nil {
			c.b.hook("unlock")
		}
		// A failure here (a lock found lost at its release) has no caller
		// left to return it to: a warning, as for a release left to the
		// background (above).
		if uerr := c.h.Unlock(); uerr != nil {
			s.cfg.logger.Warn("session lock acquired after its caller gave up; releasing it failed", "file", c.name, "err", uerr)
		} else {
			s.cfg.logger.Info("session lock acquired after its caller gave up; released", "file", c.name)
		}
	}
	if !c.op.Committed() || errors.Is(err, errAbandoned) {
		return
	}
	out := OutcomeLate
	if err != nil && (!errors.Is(err, errUnsynced) || errors.Is(err, ErrLockLost)) {
		out = outcomeOf(err)
	}
	// On a worker of the store's, its caller gone: the observer's panic
	// is logged (onOwn), and the outcome still logged below.
	if o := s.cfg.observer; o != nil {
		// Published (applied, or its lock found lost after the
		// rename): its payload was written, as a write that ends in
		// time reports it; the caller's event, a give-up, had none.
		e := Event{Op: c.kind, Outcome: out, Late: true, Bytes: writtenBytes(err, c.bytes), Published: c.kind.publishes() && published(err)}
		s.onOwn(ownLateEnd, func() { o.Observe(e) }, "op", c.kind.String(), "outcome", out.String())
	}
	if out == OutcomeReadOnlyFS {
		s.noteReadOnly(err, true)
	}
	switch {
	case err == nil:
		s.cfg.logger.Warn("session write applied after its caller was told the store is unavailable", "op", c.kind.String(), "file", c.name)
	case out == OutcomeLate:
		s.cfg.logger.Warn("session write applied after its caller was told the store is unavailable; its directory was not synced", "op", c.kind.String(), "file", c.name, "err", err)
	case out == OutcomeLockLost:
		s.cfg.logger.Error("session write given up on by its caller found its lock lost", "op", c.kind.String(), "file", c.name, "err", err)
	default:
		s.cfg.logger.Warn("session write given up on by its caller failed", "op", c.kind.String(), "file", c.name, "err", err)
	}
}

// breaker is the circuit breaker of a bounded Store.
type breaker struct {
	b        *bounder
	failures int32
	cooldown time.Duration
	after    func(time.Duration) <-chan time.Time
	stop     chan struct{} // closed by Close: ends the prober

	fails atomic.Int32  // operations run out of time in a row
	state atomic.Uint32 // a BreakerState
	mu    sync.Mutex    // serializes state changes
	// lastFail is when the last timeout was counted (a b.slots.Now
	// reading): an answer of the server since then ends the row.
	lastFail atomic.Int64
}

// ok records an operation that finished in time.
func (br *breaker) ok() {
	if br.fails.Load() != 0 {
		br.fails.Store(0)
	}
}

// timeout records an operation that ran out of time, and opens the breaker
// at the threshold. Timeouts in a row are those with no answer of the
// server between them (opwatch.Bound.LastAnswer), late ones included: a
// caller whose deadline ended just after its call went out gave up on a
// server that then answered, and a row of such callers, short deadlines
// on a healthy mount, is no outage. A server that does not answer answers
// none of them.
func (br *breaker) timeout() {
	if br.b.slots.LastAnswer() > br.lastFail.Swap(br.b.slots.Now()) {
		br.fails.Store(0)
	}
	if br.fails.Add(1) < br.failures {
		return
	}
	var opened bool
	defer func() {
		// Also when the Observer's ObserveBreaker panicked, raised in the
		// caller of the operation that opened the breaker: without its
		// prober, the breaker stayed open for good.
		if opened {
			go br.probe()
		}
	}()
	if br.change(BreakerClosed, BreakerOpen, &opened); !opened {
		return
	}
	br.b.s.cfg.logger.Warn("session store unavailable: the filesystem did not answer in time; failing fast until a probe succeeds",
		"dir", br.b.s.dir, "timeouts_in_a_row", br.fails.Load(), "probe_after", br.cooldown)
}

// setOnProber moves the breaker from one state to another and reports the
// change (see change), for the prober, on the prober's own goroutine: a
// panic in the observer's ObserveBreaker has no caller to go up to there
// (see onOwn). It is logged instead, the change made.
func (br *breaker) setOnProber(from, to BreakerState) (changed bool) {
	br.b.s.onOwn(ownProber, func() { br.change(from, to, &changed) }, "from", from, "to", to)
	return changed
}

// change moves the breaker from one state to another and reports the
// change, telling whether it did through changed, set before the change is
// reported: also when the report panics. Once Close has begun it changes
// nothing: Close reported the breaker closed (see shut), and an operation
// given up on after it must not open it again, with no prober left to
// close it.
func (br *breaker) change(from, to BreakerState, changed *bool) {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.b.s.closed.Load() || BreakerState(br.state.Load()) != from {
		return
	}
	br.state.Store(uint32(to))
	*changed = true
	br.report(from, to)
}

// shut reports an open or probing breaker closed, for Close: a closed
// store counts as no open breaker (see Store.Breaker). Close marks the
// store closed before it, so under mu no change can follow it. The state
// itself is kept: releases of locks still held after Close go on in the
// background while it is open, as before, rather than each waiting the
// ceiling for a server that did not answer.
func (br *breaker) shut() {
	br.mu.Lock()
	defer br.mu.Unlock()
	if st := BreakerState(br.state.Load()); st != BreakerClosed {
		br.report(st, BreakerClosed)
	}
}

// report tells the observer of a change; the caller holds mu, so that
// the changes reach it in order.
func (br *breaker) report(from, to BreakerState) {
	if o, ok := br.b.s.cfg.observer.(BreakerObserver); ok {
		o.ObserveBreaker(from, to)
	}
}

// probe closes the breaker once the server answers: after the cool-down,
// one forced attribute fetch of the data directory at a time. A probe
// still stuck past the ceiling is not repeated (it would only park another
// thread); its answer, whenever it comes, closes the breaker.
func (br *breaker) probe() {
	res := make(chan error, 1)
	inFlight := false
	var overdue <-chan time.Time
	wake := br.after(br.cooldown)
	for {
		select {
		case <-br.stop:
			return
		case <-wake:
			wake = nil
			if inFlight {
				continue
			}
			inFlight = true
			br.setOnProber(BreakerOpen, BreakerProbing)
			go func() { res <- br.b.s.probeBreaker(br.b.hook) }()
			overdue = br.after(br.b.timeout)
		case <-overdue:
			overdue = nil
			br.setOnProber(BreakerProbing, BreakerOpen)
		case err := <-res:
			inFlight, overdue = false, nil
			if err == nil {
				br.fails.Store(0)
				if br.setOnProber(BreakerProbing, BreakerClosed) || br.setOnProber(BreakerOpen, BreakerClosed) {
					br.b.s.cfg.logger.Info("session store available again: the filesystem answered a probe", "dir", br.b.s.dir)
				}
				return
			}
			br.setOnProber(BreakerProbing, BreakerOpen)
			br.b.s.cfg.logger.Warn("session store probe failed", "dir", br.b.s.dir, "err", err)
			wake = br.after(br.cooldown)
		}
	}
}

// probeFS asks the server for the data directory's attributes, past the
// client's attribute cache (see statFresh). Where that fetch is forced
// (Linux, see fetchesFresh), its success counts as the server's answer
// for the store's steps (patience); elsewhere the cache may have answered.
func (s *Store) probeFS(hook func(string)) error {
	if hook != nil {
		hook("probe")
	}
	_, err := s.root.statFresh(s.dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		// data/ is created again by the next save (shards are created
		// on first use): the store works without it. Ask about the
		// marker instead.
		_, err = s.root.statFresh(filepath.Join(s.dir, MarkerFile))
	}
	if err == nil && s.fetchesFresh() && s.bnd != nil {
		s.bnd.slots.Answered()
	}
	return err
}

// probeBreaker is the breaker's probe: probeFS, then an open of the
// store's marker. A server in the grace period after its restart answers
// the fetch while it may refuse every OPEN but its clients' reclaims (the
// client retries one refused so inside the system call): closed on the
// fetch alone, the breaker let operations through to wait out the grace
// period, until enough had timed out to open it again, and its next probe
// closed it again. The open makes the probe wait for the grace period's
// end too. It runs only while the breaker is open: Health keeps the
// fetch alone.
func (s *Store) probeBreaker(hook func(string)) error {
	if err := s.probeFS(hook); err != nil {
		return err
	}
	if hook != nil {
		hook("probe-open")
	}
	// The store's own open: below its directory's descriptor, no symlink
	// followed, non-blocking. An open by path followed a link planted at
	// the marker out of the store, and hung on a FIFO planted there, and
	// with it the breaker, which stayed open for good.
	p := filepath.Join(s.dir, MarkerFile)
	f, _, err := s.root.openRead(p)
	switch {
	case errors.Is(err, fs.ErrNotExist), err == errNotRegular, isSymlinkErr(err), errors.Is(err, fs.ErrPermission):
		// Answered: a store without its marker works (Open needs it),
		// and so does one with something else at the marker's name,
		// which the server looked up and the store refused unopened or
		// unread (Open reports it, ErrNotStore), or one whose marker
		// this process may no longer read (a chmod or chown, or a marker
		// rewritten by another user): an operation that reads it says so
		// itself, and a refusal taken for no answer kept the breaker
		// open for good while the server answered.
		return nil
	case err != nil:
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return f.close()
}

// healthProbe is the one health probe in flight; concurrent Health calls
// share it, so a hung server parks one goroutine however often the
// health check is polled.
type healthProbe struct {
	start time.Time
	done  chan struct{}
	err   error
	// cached: the probe's outcome may have come from the client's
	// attribute cache (see healthCheck).
	cached bool
	// counted is the last of the probe's ceilings (1 for the first,
	// from its start) in which a caller that gave up on it counted a
	// timeout for the breaker: an unanswered probe counts once per
	// ceiling, as a hung operation would, however many callers (a load
	// balancer's nodes each poll) shared it.
	counted atomic.Int64
}

// since reports how long p has gone unanswered.
func (p *healthProbe) since(s *Store) time.Duration { return s.healthNow().Sub(p.start) }

// giveUp counts a caller giving up on p after it had gone unanswered for
// waited toward the breaker, once per ceiling of p's (see counted). The
// k-th ceiling ends at k ceilings, inclusive: a caller whose timer marks
// the end of the first gives up in the first, with the caller that gave
// up earlier in it, not in the second.
func (p *healthProbe) giveUp(b *bounder, ceiling, waited time.Duration) {
	if b == nil {
		return
	}
	n := max(1, int64((waited+ceiling-1)/ceiling))
	for {
		last := p.counted.Load()
		if n <= last {
			return
		}
		if p.counted.CompareAndSwap(last, n) {
			b.brk.timeout()
			return
		}
	}
}

// Health reports whether the store can serve requests: nil when the
// server answers a forced attribute fetch of the store's data directory,
// an error matching ErrUnavailable when it does not answer before ctx ends
// (at once, asking nothing, for a ctx ended already) or the store's
// ceiling (WithOpTimeout) passes, when it answers with an error, or when
// the circuit breaker is open. It returns within that time
// even if the mount hangs: the fetch runs on a goroutine of its own, one at
// a time however many callers ask. Meant for a load balancer's health
// check or a readiness probe (httpsession has an http.Handler for it).
//
// A mount that turned read-only on this host still answers the fetch, and
// the host would stay in rotation while every write there fails. So once
// a write of this store has failed because the file system is read-only
// (EROFS), Health tests a write itself (a temp file created and removed)
// instead of the fetch, and reports an error matching both ErrUnavailable
// and that OS error until the test write, or another write begun after the
// refusal, succeeds: the host leaves the rotation, and comes back by itself
// once the mount is writable again, whether or not traffic still reaches
// it. Until a write has failed so,
// Health makes no call beyond the fetch.
//
// A probe the file system answered with an error (a read-only mount, a
// store directory removed or made unreadable) matches ErrUnavailable and
// that error, and its words say the host cannot use the store, not that
// the file system did not answer.
//
// A probe this process could not make, out of file descriptors (EMFILE,
// or ENFILE for the whole host), fails Health too (the host serves no
// session then), with an error matching ErrUnavailable and that OS error
// whose words say to raise the open-file limit, not that the file system
// did not answer.
func (s *Store) Health(ctx context.Context) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if st := s.Breaker(); st != BreakerClosed {
		return fmt.Errorf("fsstore: health: %w: circuit breaker %s", ErrUnavailable, st)
	}
	if err := ctx.Err(); err != nil {
		// The caller gave up before asking: no probe, and no timeout of
		// the server's for the breaker.
		return fmt.Errorf("fsstore: health: %w (%w)", ErrUnavailable, err)
	}
	timeout := s.cfg.opTimeout
	s.healthMu.Lock()
	p := s.health
	if p == nil {
		p = &healthProbe{start: s.healthNow(), done: make(chan struct{})}
		s.health = p
		go func() {
			cached, err := s.healthCheck(s.cfg.testFS)
			s.healthMu.Lock()
			p.err, p.cached = err, cached
			s.health = nil
			s.healthMu.Unlock()
			close(p.done)
		}()
	}
	s.healthMu.Unlock()
	// joined: how long p had gone unanswered when this caller came. Its
	// timer marks the end of p's first ceiling, or, for a caller that
	// came later, that moment.
	joined := p.since(s)
	t := time.NewTimer(timeout - joined)
	defer t.Stop()
	select {
	case <-p.done:
		if s.bnd != nil && !p.cached {
			// Answered in time, with success or an error, as an
			// operation that finishes in time is (bounder.wait): the
			// row of timeouts ends. A fetch the client's attribute
			// cache may have answered (macOS, FreeBSD) is no sign of
			// the server's: in an outage it ended the row.
			s.bnd.brk.ok()
		}
		if p.err != nil {
			if outOfDescriptorsErr(p.err) {
				return &outOfDescriptors{err: fmt.Errorf("fsstore: health: session store unavailable on this host: %w", p.err), unavailable: true}
			}
			return &probeRefused{err: p.err}
		}
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			p.giveUp(s.bnd, timeout, p.since(s))
		}
		return fmt.Errorf("fsstore: health: %w (%w)", ErrUnavailable, ctx.Err())
	case <-t.C:
		p.giveUp(s.bnd, timeout, max(joined, timeout))
		return fmt.Errorf("fsstore: health: %w: no answer within %v", ErrUnavailable, timeout)
	}
}
