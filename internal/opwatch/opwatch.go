// Package opwatch lets a goroutine that waits for store work running on
// another goroutine tell whether that work is inside a filesystem call,
// which may never return on a hard NFS mount, or merely waiting (for a lock
// holder, for a poll interval), which ends with its context. The waiter
// gives up on the work with Abandon; the work asks Enter before each call
// that may block on the server and Commit before its irreversible step, and
// skips them once abandoned.
//
// It is internal: fsstore runs its operations on goroutines of its own and
// the lock package, which it calls, reports its calls into the OS.
package opwatch

import (
	"context"
	"sync/atomic"
	"time"
)

const (
	abandoned = 1 << iota
	inOS
	committed
	finished
	detached
	polling
	always  // inside the OS for a call made even when abandoned (EnterAlways)
	granted // its wait for a lock is over (Granted)
)

// Bound counts the operations of a store inside the filesystem, those given
// up on included, against a maximum, and records when the server last
// answered one of them (LastAnswer).
type Bound struct {
	n   atomic.Int64
	Max int64
	// Clock, when set (tests only), replaces Now for the bound's readings
	// (see Bound.Now), so that a test decides how long a call has waited
	// and when the server last answered.
	Clock func() int64
	// answered is when the server last answered a call under the bound
	// (a Bound.Now reading, 0 before the first): see LastAnswer.
	answered atomic.Int64
}

// LastAnswer reports when the server last answered a call of an
// operation under the bound (a Bound.Now reading; 0 if it has not yet): see
// Answered. A call still waiting long after others were answered since it
// began is queued behind them (in the client's RPC slots, for a saturated
// CPU), not lost with the server.
func (b *Bound) LastAnswer() int64 { return b.answered.Load() }

// Answered records that the server answered a call just now. Callers say
// so only where it did: a call that returned an error may not have reached
// it (a soft mount's timeout), and an operation may end without a call (an
// argument refused, a lock shared in the process). The latest reading
// wins: a goroutine delayed between its reading and its store never winds
// the record back.
func (b *Bound) Answered() { b.answer(b.Now()) }

// Now is the bound's clock reading (Now, unless Clock is set), by which
// its operations' calls (Op.InOS) and the server's answers (LastAnswer)
// are timed. A nil *Bound reads Now.
func (b *Bound) Now() int64 {
	if b != nil && b.Clock != nil {
		return b.Clock()
	}
	return Now()
}

func (b *Bound) answer(now int64) {
	for {
		last := b.answered.Load()
		if now <= last || b.answered.CompareAndSwap(last, now) {
			return
		}
	}
}

// TryAcquire takes a slot if one is free.
func (b *Bound) TryAcquire() bool { return b.tryAcquire(b.Max) }

// pollMax is how many slots polls may fill (see Op.EnterPoll): all but a
// quarter of the bound, rounded down, and at least one slot, which are kept
// for calls that cannot wait. A bound of one keeps none: its polls would
// have no slot at all.
func (b *Bound) pollMax() int64 {
	if b.Max < 2 {
		return b.Max
	}
	return b.Max - max(1, b.Max/4)
}

// tryAcquire takes a slot if fewer than limit are taken. It never counts
// a slot it does not get, even for a moment: a call refused under a lower
// limit must not make one under the full bound fail.
func (b *Bound) tryAcquire(limit int64) bool {
	for {
		n := b.n.Load()
		if n >= limit {
			return false
		}
		if b.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Acquire takes a slot even over the maximum: for calls that must be made
// (releasing a lock).
func (b *Bound) Acquire() { b.n.Add(1) }

// Release gives a slot back.
func (b *Bound) Release() { b.n.Add(-1) }

// InFlight reports the slots taken.
func (b *Bound) InFlight() int64 { return b.n.Load() }

// Op is the shared state of one operation. The zero value is an operation
// not inside the OS; a nil *Op accepts every call and is never abandoned.
type Op struct {
	state atomic.Uint32
	since atomic.Int64 // a Bound.Now reading: when the current OS call began, or it last made progress

	// Hook, when set (tests only), runs inside every OS call the lock
	// package makes for this operation, where a hung server would block,
	// and where a lock wait ends with its context ("lock-give-up").
	Hook func(site string)

	// Bound, when set, is taken for each call Enter and EnterAlways
	// admit, and given back by Exit; Enter fails when it is full. slot
	// and refused belong to the operation's own goroutine.
	Bound *Bound
	// Gate, when set, tells a waiter refused a slot whether it may try
	// again later (Requeue): false once the store is known not to answer.
	Gate func() bool
	// Woken, when set, is signalled (without blocking; give it a buffer
	// of one) each time the operation enters the OS after it was
	// abandoned, as a call that must be made even then (EnterAlways)
	// does. Its waiter, which keeps waiting for an abandoned operation
	// only while that stays outside the OS, then gives up on it at once
	// instead of at its ceiling.
	Woken   chan struct{}
	slot    bool
	refused bool
}

// base anchors Now: time.Since reads the monotonic clock.
var base = time.Now()

// Now is a monotonic clock reading, for Since.
func Now() int64 { return int64(time.Since(base)) }

// Enter marks the start of a call that may block on the server. It returns
// false, and the caller must not make the call, once the operation was
// abandoned.
//
// It also returns false when the operation's Bound is full (Refused then
// reports true).
func (o *Op) Enter() bool {
	if o == nil || o.Bound == nil {
		return o.enter(0)
	}
	return o.enter(o.Bound.Max)
}

// EnterPoll is Enter for a poll of a lock held elsewhere by an operation
// that has waited for it already: a poll refused a slot only waits for the
// next one (Requeue). Polls may fill all of the Bound but a quarter of it
// (rounded down; at least one slot of a bound of two or more). The rest is
// kept for calls that cannot be put off without an error, those of operations that are starting or that hold their lock:
// without the reserve, the polls of many waiters, each inside the OS for a
// round trip, could leave a request that already holds its session's lock
// no slot to read or save it with.
func (o *Op) EnterPoll() bool {
	if o == nil || o.Bound == nil {
		return o.enter(0)
	}
	return o.enter(o.Bound.pollMax())
}

// enter is Enter with a Bound that admits at most limit calls.
func (o *Op) enter(limit int64) bool {
	if o == nil {
		return true
	}
	if o.Bound != nil {
		if !o.Bound.tryAcquire(limit) {
			o.refused = true
			return false
		}
		o.slot = true
	}
	o.since.Store(o.Bound.Now())
	for {
		s := o.state.Load()
		if s&abandoned != 0 {
			o.Exit()
			return false
		}
		if o.state.CompareAndSwap(s, s|inOS) {
			return true
		}
	}
}

// Refused reports whether Enter failed for want of a slot.
func (o *Op) Refused() bool { return o != nil && o.refused }

// Requeue reports whether a call that Enter refused for want of a slot,
// made by an operation that is waiting anyway (for another owner's lock),
// may be tried again at its next poll, and clears the refusal if so. The
// slots are then taken by other calls that each last a round trip; failing
// an operation that already waited would turn a busy moment into an
// error. It returns false when the operation was abandoned, was not
// refused, or the Gate says the store does not answer.
func (o *Op) Requeue() bool {
	if o == nil || !o.refused || o.Abandoned() || (o.Gate != nil && !o.Gate()) {
		return false
	}
	o.refused = false
	return true
}

// EnterAlways is Enter for a call that must be made even when abandoned
// or over the bound: releasing a lock.
func (o *Op) EnterAlways() {
	if o != nil {
		if o.Bound != nil && !o.slot {
			o.Bound.Acquire()
			o.slot = true
		}
		o.state.Or(always)
		o.MarkInOS()
	}
}

// InOSAlways reports whether the operation is inside the OS for a call
// begun with EnterAlways (a release it must make), not for its own work.
func (o *Op) InOSAlways() bool {
	return o != nil && o.state.Load()&(inOS|always) == inOS|always
}

// MarkInOS marks the operation inside the OS from now on, its slot taken
// by its caller.
func (o *Op) MarkInOS() {
	o.since.Store(o.Bound.Now())
	// Abandon sets its bit with the same kind of atomic Or: whichever of
	// the two comes second sees the other's bit, so either Abandon
	// reports the operation inside the OS or the waiter is woken here.
	if o.state.Or(inOS)&abandoned != 0 && o.Woken != nil {
		select {
		case o.Woken <- struct{}{}:
		default: // a signal is pending already
		}
	}
}

// Progress marks a step of an operation inside the OS done: its waiter's
// ceiling counts from here. An operation that makes several calls in one
// stretch inside the OS (a save: write, rename, check) is then judged by
// its longest step without progress, not by its total, so that a client
// slowed by its own load (a saturated CPU between calls) is not taken for
// a server that does not answer. It does nothing outside the OS.
func (o *Op) Progress() {
	if o != nil && o.state.Load()&inOS != 0 {
		o.since.Store(o.Bound.Now())
	}
}

// Answered records on the operation's Bound, if any, that the server
// answered one of its calls (see Bound.Answered).
func (o *Op) Answered() {
	if o != nil && o.Bound != nil {
		o.Bound.Answered()
	}
}

// Exit marks the end of a call begun with Enter or EnterAlways.
func (o *Op) Exit() {
	if o != nil {
		o.state.And(^uint32(inOS | always))
		if o.slot {
			o.slot = false
			o.Bound.Release()
		}
	}
}

// Commit marks the start of the operation's irreversible step (the rename
// that publishes a record). It returns false, and the caller must skip the
// step, once the operation was abandoned; after it returns true, Abandon
// reports the step as begun.
func (o *Op) Commit() bool {
	if o == nil {
		return true
	}
	for {
		s := o.state.Load()
		if s&abandoned != 0 {
			return false
		}
		if o.state.CompareAndSwap(s, s|committed) {
			return true
		}
	}
}

// Abandon marks the operation abandoned by its waiter: it starts no
// further call that Enter guards and skips its Commit. It reports whether
// the operation was inside an OS call at that moment (if not, it ends
// without waiting for the server, and the waiter may wait for it) and
// whether it had finished already.
func (o *Op) Abandon() (inOSCall, done bool) {
	s := o.state.Or(abandoned)
	return s&inOS != 0, s&finished != 0
}

// Detach hands the operation's outcome to the operation itself: its waiter
// returns without it. It fails when the operation has finished (the waiter
// then takes the outcome as usual) and reports whether the operation had
// committed.
func (o *Op) Detach() (ok, wasCommitted bool) {
	for {
		s := o.state.Load()
		if s&finished != 0 {
			return false, s&committed != 0
		}
		if o.state.CompareAndSwap(s, s|detached|abandoned) {
			return true, s&committed != 0
		}
	}
}

// Finish marks the operation finished. It returns true when its waiter
// detached first: the operation must then deal with its own outcome.
func (o *Op) Finish() (wasDetached bool) {
	for {
		s := o.state.Load()
		if s&detached != 0 {
			return true
		}
		if o.state.CompareAndSwap(s, s|finished) {
			return false
		}
	}
}

// Detached reports whether Detach succeeded: the operation is its own.
func (o *Op) Detached() bool { return o.state.Load()&detached != 0 }

// Poll marks a lock wait's first attempt done: its calls from now on poll
// a lock found held, and the one in the OS when the caller gives up is a
// round trip like any other, not a sign that the server does not answer.
func (o *Op) Poll() {
	if o != nil {
		o.state.Or(polling)
	}
}

// Granted marks the end of an operation's wait for a lock: its calls from
// now on are its own work (a CompareAndSwap's read and write under the
// lock), not polls nor releases of a lock it waited for, and Polling
// reports false again. Once abandoned, the operation keeps Polling: its
// waiter, which judges the call the operation was in when abandoned (a
// poll granted meanwhile) by Polling after Abandon, must not see a poll
// taken for the operation's own work, and an abandoned operation starts
// no work, only the release of the lock it no longer wants.
func (o *Op) Granted() {
	if o != nil {
		for {
			s := o.state.Load()
			next := s&^uint32(polling) | granted
			if s&abandoned != 0 {
				next = s | granted
			}
			if o.state.CompareAndSwap(s, next) {
				return
			}
		}
	}
}

// WasGranted reports whether Granted was called.
func (o *Op) WasGranted() bool { return o != nil && o.state.Load()&granted != 0 }

// Polling reports whether Poll was called, and Granted not since.
func (o *Op) Polling() bool { return o != nil && o.state.Load()&polling != 0 }

// Abandoned reports whether Abandon was called.
func (o *Op) Abandoned() bool { return o != nil && o.state.Load()&abandoned != 0 }

// Committed reports whether Commit succeeded.
func (o *Op) Committed() bool { return o != nil && o.state.Load()&committed != 0 }

// InOS reports whether the operation is inside an OS call, and since when
// (a Bound.Now reading): when it entered, or last made progress (Progress).
func (o *Op) InOS() (bool, int64) {
	return o.state.Load()&inOS != 0, o.since.Load()
}

// Reset makes o a fresh operation, for reuse from a pool. A signal left
// in Woken is drained; the channel is kept.
func (o *Op) Reset() {
	o.state.Store(0)
	o.since.Store(0)
	if o.Woken != nil {
		select {
		case <-o.Woken:
		default:
		}
	}
	o.Hook, o.Bound, o.Gate, o.slot, o.refused = nil, nil, nil, false, false
}

type ctxKey struct{}

// NewContext returns ctx carrying o, for the lock package.
func NewContext(ctx context.Context, o *Op) context.Context {
	return context.WithValue(ctx, ctxKey{}, o)
}

// FromContext returns the Op ctx carries, or nil.
func FromContext(ctx context.Context) *Op {
	o, _ := ctx.Value(ctxKey{}).(*Op)
	return o
}

// RunHook runs o's test hook, if any.
func (o *Op) RunHook(site string) {
	if o != nil && o.Hook != nil {
		o.Hook(site)
	}
}
