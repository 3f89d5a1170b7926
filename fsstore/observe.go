package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"time"
)

// Op names an operation reported to an Observer.
type Op uint8

const (
	// OpLoad reports a Load (also a Locked's).
	OpLoad Op = iota
	// OpSave reports a Save (also a Locked's).
	OpSave
	// OpTouch reports a Touch (also a Locked's).
	OpTouch
	// OpDelete reports a Delete (also a Locked's).
	OpDelete
	// OpCompareAndSwap reports a CompareAndSwap.
	OpCompareAndSwap
	// OpLockWait reports the time spent acquiring a session lock (Lock).
	OpLockWait
	// OpSweepRemove reports one file removed by Sweep (Event.Kind says
	// which kind).
	OpSweepRemove
	// OpKeysReload reports a changed keys file applied, or rejected with
	// the previous keys kept (WithKeysFile).
	OpKeysReload
	// OpTryLock reports one TryLock: a lock attempt that does not wait.
	// Apart from OpLockWait, so that its attempts, quick whether they
	// find the lock free or held, do not lower the lock waits' latency
	// quantiles that alerts watch.
	OpTryLock
)

var opNames = [...]string{"load", "save", "touch", "delete", "compare_and_swap", "lock_wait", "sweep_remove", "keys_reload", "try_lock"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Ops lists every Op, for metrics back ends that pre-create their series.
func Ops() []Op {
	ops := make([]Op, len(opNames))
	for i := range ops {
		ops[i] = Op(i)
	}
	return ops
}

// Outcome classifies an operation's result. It never carries session data.
type Outcome uint8

const (
	// OutcomeOK reports an operation that succeeded.
	OutcomeOK Outcome = iota
	// OutcomeNotFound reports ErrNotFound: no live session under the ID.
	OutcomeNotFound
	// OutcomeConflict reports ErrConflict: a CompareAndSwap that lost.
	OutcomeConflict
	// OutcomeCorrupt reports ErrCorrupt: a record that failed its
	// checksum or authentication.
	OutcomeCorrupt
	// OutcomeLockTimeout reports ErrLocked, or an operation whose
	// context ended (its deadline, a client that went away).
	OutcomeLockTimeout
	// OutcomeLockLost reports ErrLockLost.
	OutcomeLockLost
	// OutcomeInvalid reports a call the caller should not have made: an
	// invalid ID, idle timeout or size, a write through a shared lock or
	// to a store opened WithReadOnly.
	OutcomeInvalid
	// OutcomeError reports any failure no other Outcome names.
	OutcomeError
	// OutcomeUnknownKey reports a live record under a key that is not
	// configured (ErrUnknownKey): a key was retired before every record
	// was rekeyed. Users of such records get a fresh session. A record
	// under a key no host of the store has had is OutcomeCorrupt.
	OutcomeUnknownKey
	// OutcomeTooManyLocks reports a lock refused at once because this
	// process holds its cap of OS locks (WithMaxHeldLocks) or the server
	// refused another one (ErrTooManyLocks).
	OutcomeTooManyLocks
	// OutcomeNoSpace reports a write refused because the file system or
	// the user's quota is full (ENOSPC, EDQUOT).
	OutcomeNoSpace
	// OutcomeReadOnlyFS reports a write refused because the file system is
	// mounted read-only (EROFS), as after an NFS or disk error remount.
	OutcomeReadOnlyFS
	// OutcomePermission reports a file the process may not read or write
	// (EACCES, EPERM): usually a uid or mode mismatch between hosts.
	OutcomePermission
	// OutcomeUnavailable reports an operation that failed with
	// ErrUnavailable: the filesystem did not answer in time, the circuit
	// breaker was open, or the bound on operations in flight was full.
	OutcomeUnavailable
	// OutcomeLate reports a write (save, touch, delete, compare-and-swap)
	// that the filesystem applied after its caller had been told the
	// store is unavailable. Reported when the write completes, with no
	// duration and with Event.Late set: see there.
	OutcomeLate
	// OutcomeBusy reports a TryLock that found the session's lock held
	// elsewhere (ErrLocked at once, without waiting); only with
	// OpTryLock. A Lock whose wait ended is OutcomeLockTimeout.
	OutcomeBusy
)

// The other failures stay OutcomeError; the ones above get their own
// label because each has its own fix (see the operator guide's alerts),
// or, as OutcomeBusy, is an answer rather than a failure.
var outcomeNames = [...]string{"ok", "not_found", "conflict", "corrupt", "lock_timeout", "lock_lost", "invalid", "error", "unknown_key", "too_many_locks", "no_space", "read_only_fs", "permission", "unavailable", "late", "busy"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Outcomes lists every Outcome.
func Outcomes() []Outcome {
	out := make([]Outcome, len(outcomeNames))
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// Event is one observed operation. It deliberately has no field for a
// session ID or payload: metrics must never be able to leak them.
type Event struct {
	Op       Op            // what was done
	Outcome  Outcome       // how it ended
	Duration time.Duration // how long it took (for OpLockWait, the wait)
	// Bytes is the payload a Load returned, or a write (save,
	// compare-and-swap) put in the file system's namespace, where readers
	// see it; for OpSweepRemove, the file's size. A write reports its
	// payload exactly when it is known to be published, and once: its
	// event has it when it succeeded, and when it failed after the rename
	// that published its record (the fsync of its directory failed, or
	// its lock was found lost right after: ErrInDoubt, not
	// ErrUnavailable); a write that failed before publishing reports
	// none, nor does one given up on (OutcomeUnavailable), whose late
	// event (Late) reports them if it was published after all. A count of
	// bytes written adds Bytes of every event that has them, whatever
	// its Outcome.
	Bytes int
	Kind  FileKind // OpSweepRemove only
	// Published marks a write (save, compare-and-swap) that put its
	// record in the file system's namespace: exactly the events whose
	// Bytes a count of bytes written adds, those of an empty payload
	// included, in time or late. Bytes over the count of such events is
	// the mean payload of the records written, where a count of the
	// writes that succeeded leaves out a write in doubt that published
	// its record (ErrInDoubt), whose bytes it adds.
	Published bool
	// Late marks the end of a write whose caller had already been told
	// ErrUnavailable (and reported with OutcomeUnavailable): Outcome says
	// how it ended (OutcomeLate when it was applied, OutcomeLockLost when
	// its lock was found lost, ...), and Duration is zero. One that
	// published its record (OutcomeLate, or a lock found lost after the
	// rename) has in Bytes the payload bytes it wrote, which its first
	// report (OutcomeUnavailable) did not have (see Bytes). It is the
	// second report of one operation: a count of operations must skip it,
	// or count each write given up on twice (metrics/prom counts it in a
	// counter of its own); so should latency histograms, as its duration
	// is not known.
	Late bool
}

// Observer receives an Event after every store operation. Observe is called
// concurrently from every goroutine using the store and must not block; a
// typical implementation increments counters and histograms. The
// metrics/prom package provides one for Prometheus.
//
// A panic in Observe (or in ObserveBreaker and ObserveReadOnlyFS, see
// BreakerObserver and ReadOnlyFSObserver) goes up to the caller of the
// operation it reports when it is called on that caller's goroutine, as at
// the end of a Load, Save or Lock, after the store has settled what the
// operation did: a lock that Lock acquired is released, and Close still
// closes the store. The store also calls these methods on goroutines of
// its own, where no caller could recover a panic: when it reports a write
// that finished after its caller gave up on it (Event.Late), a removal of
// Sweep, a keys file reload, a change that the circuit breaker's prober
// or Health's probe made. There a panic is recovered and logged at Error
// level, with its stack, and the store carries on as after a return. So
// that an Observer that always panics does not flood the log (one panic
// per file a sweep removes), the first panic of each method is logged,
// then one a minute at most, with the number of its panics not logged
// since the record before ("suppressed"); Close logs the number not
// logged since the last, and every panic after it (a write given up on
// that ends after Close) is logged.
type Observer interface {
	Observe(Event)
}

// WithObserver reports every operation to o (default: none, and no timing
// overhead). A nil o is none, as leaving the option out is, and so is a
// nil pointer of an Observer type (a *prom.Observer left unset when
// metrics are off), whose methods would otherwise be called on nil and
// panic in the middle of the store's work.
func WithObserver(o Observer) Option {
	return optionFunc(func(c *config) {
		if isNil(o) {
			o = nil
		}
		c.observer = o
	})
}

// isNil reports whether v is nil or an interface holding a nil pointer,
// func, map, slice or channel.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// WithLogger sets the logger for events worth an operator's attention:
// corrupt records, lost locks, sweep failures and summaries. The default
// discards everything: the library prints nothing unless asked, and a nil
// l is that default, as leaving the option out is (not slog.Default: a
// logger chosen at run time and left unset logs nothing, as it would
// without the option). Log records name files by their hashed names, never
// by session ID.
//
// The store logs from goroutines of its own and from the middle of its
// bookkeeping, so a panic in the logger's handler never leaves the store:
// the record is lost, and the panic is written to standard error.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
	})
}

func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrUnavailable):
		return OutcomeUnavailable
	case errors.Is(err, ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, ErrConflict):
		return OutcomeConflict
	case errors.Is(err, ErrUnknownKey):
		return OutcomeUnknownKey
	case errors.Is(err, ErrCorrupt):
		return OutcomeCorrupt
	case errors.Is(err, ErrLockLost):
		return OutcomeLockLost
	case errors.Is(err, ErrTooManyLocks):
		return OutcomeTooManyLocks
	case errors.Is(err, ErrLocked), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return OutcomeLockTimeout
	case errors.Is(err, ErrInvalidID), errors.Is(err, ErrTooLarge), errors.Is(err, ErrInvalidIdle), errors.Is(err, ErrReadOnly),
		errors.Is(err, ErrStoreReadOnly), errors.As(err, new(misuse)):
		return OutcomeInvalid
	case errors.Is(err, fs.ErrPermission):
		return OutcomePermission
	}
	if out, ok := osOutcome(err); ok {
		return out
	}
	return OutcomeError
}

// misuse is the error of a call its caller should not have made: a nil
// session, a session not the locked one, a Locked used after Unlock. It
// is reported as OutcomeInvalid, as an invalid ID is.
type misuse string

func (e misuse) Error() string { return string(e) }

// opStart is what end needs to know of an operation's start.
type opStart struct {
	// t is the zero time when nothing observes, so that unobserved
	// stores pay no clock read.
	t time.Time
	// ro is the read-only finding in force (see noteReadOnly), which a
	// write that succeeds ends: it was refused before this one began.
	ro uint64
}

// begin marks the start of an operation for end.
func (s *Store) begin() opStart {
	st := opStart{ro: s.readOnly.Load()}
	if s.cfg.observer != nil {
		st.t = time.Now()
	}
	return st
}

// end reports an operation, logs the failures operators must see and
// notes a read-only file system for Health, or its end. It returns the
// operation's error for its caller: err, with what to do on this host
// when it is out of file descriptors (descriptorsHint).
// writtenBytes is the Bytes of a write's event that ended with err, n
// its payload's size: n when the payload is known to be published, 0
// otherwise (see Event.Bytes).
func writtenBytes(err error, n int) int {
	if published(err) {
		return n
	}
	return 0
}

// published reports whether a write that ended with err is known to have
// published its record (see Event.Published).
func published(err error) bool {
	return err == nil || errors.Is(err, ErrInDoubt) && !errors.Is(err, ErrUnavailable)
}

// publishes reports whether op is a write that publishes a record with a
// payload (see Event.Published).
func (op Op) publishes() bool { return op == OpSave || op == OpCompareAndSwap }

func (s *Store) end(op Op, start opStart, err error, bytes int, name string) error {
	return s.endAs(op, start, outcomeOf(err), err, bytes, name)
}

// endAs is end with the outcome given, for an operation whose error alone
// does not say it (TryLock's ErrLocked).
//
// It runs on the caller's goroutine, at the end of the operation: a panic
// of the observer goes up to the caller. So the Observer comes last, once
// the read-only finding is noted or cleared and the failure logged.
func (s *Store) endAs(op Op, start opStart, out Outcome, err error, bytes int, name string) error {
	err = descriptorsHint(err)
	var d time.Duration
	if s.cfg.observer != nil {
		d = time.Since(start.t)
	}
	switch out {
	case OutcomeCorrupt:
		s.cfg.logger.Warn("corrupt session record", "op", op.String(), "file", name, "err", err)
	case OutcomeUnknownKey:
		s.cfg.logger.Warn("session record under a key that is not configured; rekey before retiring a key", "op", op.String(), "file", name, "err", err)
	case OutcomeLockLost:
		s.cfg.logger.Error("session lock lost; write refused", "op", op.String(), "file", name, "err", err)
	case OutcomeReadOnlyFS:
		if op == OpTouch {
			// A touch is asked by each read of a session due for one,
			// on a request that is served: the finding is logged at
			// Warn once (noteReadOnly, below) and stands in ReadOnlyFS
			// until a write succeeds; a line at Error per read would
			// bury the log.
			s.cfg.logger.Debug("session store operation failed", "op", op.String(), "file", name, "err", err)
			break
		}
		s.cfg.logger.Error("session store operation failed", "op", op.String(), "file", name, "err", err)
	case OutcomeError, OutcomeTooManyLocks, OutcomeNoSpace, OutcomePermission:
		s.cfg.logger.Error("session store operation failed", "op", op.String(), "file", name, "err", err)
	}
	switch {
	case out == OutcomeReadOnlyFS:
		s.noteReadOnly(err, false)
	case err == nil && start.ro != 0 && op.writes():
		// The file system took a write issued after it refused one: it
		// is writable again, whether or not anything calls Health.
		s.clearReadOnly(start.ro, false)
	}
	if s.cfg.observer != nil {
		s.cfg.observer.Observe(Event{Op: op, Outcome: out, Duration: d, Bytes: bytes, Published: op.publishes() && published(err)})
	}
	return err
}

// writes reports whether the operation's success means the file system
// took a write: each of these creates a file or changes one, or fails.
// Delete is not one: it succeeds on a name that is already gone, and an
// NFS client whose server holds the export read-only answers that from a
// LOOKUP, with no REMOVE to refuse.
func (o Op) writes() bool {
	switch o {
	case OpSave, OpCompareAndSwap, OpTouch:
		return true
	}
	return false
}

// Errors of a call no store can answer; misuse, so OutcomeInvalid and,
// through httpsession, a 500 rather than a 503: retrying does not help.
const (
	errNilStore   = misuse("fsstore: nil *fsstore.Store (did Open fail?)")
	errNotOpened  = misuse("fsstore: fsstore.Store not made by Open")
	errNilContext = misuse("fsstore: nil context.Context")
)

// usable fails a call on a nil *Store (an Open whose error was dropped),
// on a Store not made by Open (a Store{} used directly) or with a nil
// Context, before anything of the store is touched: each would otherwise
// panic with a nil dereference or a division by zero, on a bounded
// store's worker goroutine (Health's) where no recover of the caller's
// can catch it and the process ends.
func (s *Store) usable(ctx context.Context) error {
	switch {
	case s == nil:
		return errNilStore
	case s.root == nil:
		return errNotOpened
	case ctx == nil:
		return errNilContext
	}
	return nil
}

// usableAs is usable for a call the Observer sees as op. A nil Context
// given to a store that is usable is reported as OutcomeInvalid, as a
// Locked's is: a call the caller should not have made, which the Observer
// counts apart from the store's failures and the breaker never sees. A nil
// or unopened Store has no Observer to tell.
func (s *Store) usableAs(ctx context.Context, op Op) error {
	err := s.usable(ctx)
	if err == errNilContext {
		return s.end(op, s.begin(), err, 0, "")
	}
	return err
}
