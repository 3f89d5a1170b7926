package fsstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/lock"
)

// LockMode selects how a request holds a session.
type LockMode = lock.Mode

const (
	// Exclusive serializes requests for the session across goroutines,
	// processes and hosts, like PHP's files handler.
	Exclusive = lock.Exclusive
	// Shared admits other Shared holders of the session in the same
	// process and excludes Exclusive ones; for requests that only read.
	// Other processes and hosts are excluded as by Exclusive (see the lock
	// package). Saves through it fail with ErrReadOnly. A Shared Lock
	// waits behind an Exclusive one of the process queued for the session,
	// a holder's own too: a request holding the session Shared that locks
	// it Shared again while an Exclusive Lock waits for it waits on itself
	// until its context ends (ErrLocked; see lock.Shared). Pass the Locked
	// down instead of locking the session twice.
	Shared = lock.Shared
)

// Locked is a session held under its lock for the length of a request:
// Lock, Load, Save, Unlock. Methods are safe for concurrent use, but a
// request normally uses it from one goroutine. A call that returns an
// error fails with one saying so, as an invalid call, and panics nowhere,
// on a nil *Locked (a Lock whose error was not checked first) or a
// Locked{} no Lock returned.
type Locked struct {
	s    *Store
	id   string
	k    key
	h    *lock.Handle
	mode LockMode

	mu       sync.Mutex
	unlocked bool
	// running counts operations on the session whose work is under way
	// (on a bounded store possibly on another goroutine, given up on by
	// their caller): the lock is released only once it is zero, so that
	// nothing is written under a lock given back. wantUnlock: Unlock was
	// called meanwhile; the last operation to end releases the lock.
	running    int
	wantUnlock bool
	// broken: an operation was given up on (ErrUnavailable) and may still
	// complete; every later operation fails with ErrUnavailable.
	broken bool
	// live is set by a Load under this lock that found the session live,
	// liveUntil to its expiry: until then Touch needs no lstat to refuse
	// reviving an expired session, as nobody else saves it meanwhile.
	live      bool
	liveUntil time.Time
	// liveKeys and liveEncrypted are the key set and the knowledge that
	// the store is encrypted under which that Load served the record: a
	// keys file reload or a keyless store told the store is encrypted
	// since may refuse what it served, so Touch then judges again.
	liveKeys      *keyring
	liveEncrypted bool
	// file is the record as that Load opened it, kept open until Save,
	// Delete or Unlock so that Touch sets the times through it: no name
	// resolved again, no directory opened. Closed before a Save or
	// Delete replaces the name: on NFS a file this host still has open
	// would be renamed to .nfsXXXX instead of removed.
	file keptFile
}

// Lock acquires the session's lock, waiting until it is free or ctx ends
// (the error then matches ErrLocked and ctx.Err()). A ctx that has ended
// before the call fails it at once with ctx.Err() alone: the lock was not
// looked at (on a closed store, ErrClosed comes first). The session need
// not exist yet. Unlock the result when the request is done. When the process
// already holds WithMaxHeldLocks lock files and this session's is not among
// them, it fails at once with ErrTooManyLocks.
//
// Locks are striped: a fixed set of lock files (WithLockStripes) covers all
// sessions, so sessions on one stripe held by different processes or hosts
// take turns. That is the price of never removing lock files (see the lock
// package). Within one process distinct sessions never wait for each other:
// a caller may hold several at once, and CompareAndSwap or Lock of another
// session under a held lock never waits for the caller itself (through
// this Store: another Store opened on the same directory is another owner
// of the stripe, which this one waits for until ctx ends). Across
// processes the stripe is the unit: a request that holds one session and
// locks another on a stripe held by a process doing the same the other
// way round waits for it until either context ends (ErrLocked), so give
// such a Lock a deadline, or draw a session that is the caller's to
// choose on the held stripe (NewIDSharingStripe). Once a
// holder has found its stripe's lock lost (ErrLockLost: the server gave it
// to another host), Lock of another session on that stripe fails with
// ErrLockLost too, until the stripe's holders in this process let go.
func (s *Store) Lock(ctx context.Context, id string, mode LockMode) (*Locked, error) {
	if err := s.usableAs(ctx, OpLockWait); err != nil {
		return nil, err
	}
	start := s.begin()
	k, err := s.checkWrite(ctx, id, "lock")
	if err != nil {
		err = s.end(OpLockWait, start, err, 0, "")
		return nil, err
	}
	// Errors of the bound (run, fullErr) name the operation already.
	var h *lock.Handle
	if b := s.bnd; b == nil {
		if h, err = s.locks.Lock(s.lockHooks(ctx), s.lockName(k), k.name, mode); err != nil {
			err = lockErr("lock: "+s.recordPath(k), err, s.dir)
		}
	} else {
		c := b.get("lock", OpLockWait, k.name)
		c.fn = func(c *call) error {
			var err error
			c.h, err = s.locks.Lock(opwatch.NewContext(ctx, &c.op), s.lockName(k), k.name, mode)
			switch {
			case err != nil && c.op.Refused():
				return b.refusedErr(ctx, "lock", err)
			case err != nil:
				return lockErr("lock: "+s.recordPath(k), err, s.dir)
			}
			return nil
		}
		if err = b.run(ctx, c, lockOp); err == nil {
			h = c.h
		}
		b.put(c)
	}
	defer releaseUnreturned(s, &h, k.name)
	err = s.end(OpLockWait, start, err, 0, k.name)
	if err != nil {
		return nil, err
	}
	l := &Locked{s: s, id: id, k: k.withBind(id), h: h, mode: mode}
	h = nil // returned
	return l, nil
}

// lockHooks returns ctx for a lock attempt of an unbounded store: with the
// test hook (withTestFS) inside the attempt where there is one, as a
// bounded store's attempts have it, so that tests may stop and interrupt
// it there too; else ctx itself.
func (s *Store) lockHooks(ctx context.Context) context.Context {
	if s.cfg.testFS == nil {
		return ctx
	}
	return opwatch.NewContext(ctx, &opwatch.Op{Hook: s.cfg.testFS})
}

// releaseUnreturned releases *h, a lock that Lock or TryLock acquired,
// unless they returned it (*h nil then): the Observer told of the lock
// may panic, and its panic, raised in the caller, left the lock held with
// no Locked to unlock it, the session's stripe lost to every other host
// until the process ended.
func releaseUnreturned(s *Store, h **lock.Handle, name string) {
	if *h == nil {
		return
	}
	var err error
	if s.bnd != nil {
		err = s.bnd.unlock(*h, name)
	} else {
		err = (*h).Unlock()
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrUnavailable):
		// Not a failure: the bound left the release to the background
		// (the breaker open, or no answer within the ceiling), which
		// logs a failure of its own ("releasing a session lock in the
		// background failed"). Logged as failed, it read as a lock left
		// held.
		s.cfg.logger.Info("session lock whose Lock panicked is being released in the background", "file", name, "reason", err)
	default:
		s.cfg.logger.Warn("releasing a session lock whose Lock panicked failed", "file", name, "err", err)
	}
}

// TryLock is Lock without waiting: it fails with ErrLocked when the lock is
// held elsewhere, or was just released to requests of the process that
// wait for the session (see lock.Table.Lock). The Observer sees it as OpTryLock, a lock found held
// with OutcomeBusy rather than Lock's OutcomeLockTimeout: it did not wait.
// On a bounded store its attempt is bounded as one of Lock's is.
func (s *Store) TryLock(id string, mode LockMode) (*Locked, error) {
	if err := s.usable(context.Background()); err != nil {
		return nil, err
	}
	start := s.begin()
	k, err := s.checkWrite(context.Background(), id, "try-lock")
	if err != nil {
		err = s.end(OpTryLock, start, err, 0, "")
		return nil, err
	}
	var h *lock.Handle
	if b := s.bnd; b == nil {
		if h, err = s.locks.TryLockContext(s.lockHooks(context.Background()), s.lockName(k), k.name, mode); err != nil {
			err = lockErr("lock: "+s.recordPath(k), err, s.dir)
		}
	} else {
		// No wait for a holder here; its call into the filesystem, if
		// any, takes a slot and is bounded by the ceiling, as a Lock's
		// attempt is, and a lock the server granted is its answer. One
		// shared in the process makes no call.
		c := b.get("lock", OpLockWait, k.name)
		c.fn = func(c *call) error {
			var err error
			c.h, err = s.locks.TryLockContext(opwatch.NewContext(context.Background(), &c.op), s.lockName(k), k.name, mode)
			switch {
			case err != nil && c.op.Refused():
				return b.refusedErr(context.Background(), "lock", err)
			case err != nil:
				return lockErr("lock: "+s.recordPath(k), err, s.dir)
			}
			return nil
		}
		if err = b.run(context.Background(), c, lockOp); err == nil {
			h = c.h
		}
		b.put(c)
	}
	out := outcomeOf(err)
	if out == OutcomeLockTimeout && errors.Is(err, ErrLocked) {
		out = OutcomeBusy
	}
	defer releaseUnreturned(s, &h, k.name)
	// Notes a lock file it could not create on a read-only file system,
	// as Lock does.
	err = s.endAs(OpTryLock, start, out, err, 0, k.name)
	if err != nil {
		return nil, err
	}
	l := &Locked{s: s, id: id, k: k.withBind(id), h: h, mode: mode}
	h = nil // returned
	return l, nil
}

// SharesStripe reports whether id's lock is backed by the same lock stripe
// (WithLockStripes) as l's. This process holds that stripe's OS lock while
// it holds l, so Lock, TryLock or CompareAndSwap of id here share it
// instead of waiting for other processes. It is false for an invalid ID.
func (l *Locked) SharesStripe(id string) bool {
	if ValidID(id) != nil {
		return false
	}
	n := uint32(l.s.layout.stripes)
	return deriveKey(id).stripe%n == l.k.stripe%n
}

// NewIDSharingStripe returns a new session ID, as NewID, whose lock shares
// l's stripe (see SharesStripe). A caller holding l that must create a
// session under a fresh ID can so write it, and keep writing it, without
// ever waiting for another process's lock while holding l: were it to
// wait for another stripe, a process doing the same the other way round
// would wait for l's, and both would wait until their contexts end.
//
// It draws IDs until one falls on the stripe, about as many as the store
// has lock stripes (from 1, with one stripe, to 65,536); it fails with
// ErrLocked after 64 times that many, which random IDs fail to reach
// with odds below e^-64.
func (l *Locked) NewIDSharingStripe() (string, error) {
	if err := l.usable(); err != nil {
		return "", err
	}
	// Random bytes for 64 candidates at a time, each its own 32: a
	// crypto/rand read per candidate cost most of the search, which at
	// 1,024 stripes came to a millisecond of CPU per log in.
	n := uint32(l.s.layout.stripes)
	want := l.k.stripe % n
	var raw [64 * 32]byte
	var enc [43]byte
	for range l.s.layout.stripes {
		if _, err := rand.Read(raw[:]); err != nil {
			return "", fmt.Errorf("fsstore: new ID: %w", err)
		}
		for c := range 64 {
			base64.RawURLEncoding.Encode(enc[:], raw[32*c:32*c+32])
			if stripeOfID(enc[:])%n == want {
				return string(enc[:]), nil
			}
		}
	}
	return "", fmt.Errorf("fsstore: new ID: %w: none found on the stripe of %s", ErrLocked, l.s.recordPath(l.k))
}

// ID returns the locked session's ID.
func (l *Locked) ID() string { return l.id }

// Mode returns the mode the lock was requested in.
func (l *Locked) Mode() LockMode { return l.mode }

// Errors of a call on a Locked no Lock returned: misuse, as a Store's
// (see Store.usable).
const (
	errNilLocked = misuse("fsstore: nil *fsstore.Locked (did Lock fail?)")
	errNotLocked = misuse("fsstore: fsstore.Locked not made by Lock or TryLock")
)

// usable fails a call on a nil *Locked (a Lock's result used before its
// error was checked, as by a defer of Unlock written first) or a Locked{}
// no Lock returned, before anything of it is touched: each would
// otherwise panic with a nil dereference, a deferred Unlock's hiding the
// Lock's error.
func (l *Locked) usable() error {
	switch {
	case l == nil:
		return errNilLocked
	case l.s == nil:
		return errNotLocked
	}
	return nil
}

// enter checks that the session may be used and counts an operation as
// running on it; end must follow, where the operation's work ends.
func (l *Locked) enter(ctx context.Context, write bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.unlocked:
		return misuse("fsstore: session used after Unlock")
	case l.s.closed.Load():
		// As the Store's calls: a closed store says so before the
		// context's end, whichever call on a session it is.
		return ErrClosed
	case write && l.mode != Exclusive:
		return ErrReadOnly
	case l.broken:
		return fmt.Errorf("fsstore: %w: an earlier operation under this lock was given up on and may still complete", ErrUnavailable)
	case ctx == nil:
		return errNilContext
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.running++
	return nil
}

// end ends an operation counted by enter, releasing the lock if Unlock
// was called meanwhile.
func (l *Locked) end() {
	if release := l.endLater(); release != nil {
		release()
	}
}

// endLater is end, but returns the release of the lock, when Unlock left
// it to this operation, for the caller to run (nil when there is none).
func (l *Locked) endLater() (release func()) {
	l.mu.Lock()
	l.running--
	last := l.running == 0 && l.wantUnlock
	l.wantUnlock = l.wantUnlock && !last
	l.mu.Unlock()
	if !last {
		return nil
	}
	return func() {
		if b := l.s.bnd; b != nil {
			// A round trip that may hang, counted by the bound like
			// every other; a release is never refused.
			b.slots.Acquire()
			defer b.slots.Release()
			if b.hook != nil {
				b.hook("unlock")
			}
		}
		if err := l.h.Unlock(); err != nil {
			l.s.cfg.logger.Warn("releasing a session lock after the operation given up on returned", "file", l.k.name, "err", err)
		}
	}
}

func (l *Locked) markBroken() {
	l.mu.Lock()
	l.broken = true
	l.mu.Unlock()
}

// run runs one operation's work on the session: on the caller's goroutine,
// or for a bounded store under its bound (see bounder.run).
func (l *Locked) run(ctx context.Context, what string, kind Op, fn func(c *call) error) error {
	b := l.s.bnd
	if b == nil {
		err := fn(nil)
		l.end()
		return err
	}
	c := b.get(what, kind, l.k.name)
	c.fn, c.l = fn, l
	err := b.run(ctx, c, fsOp)
	b.put(c)
	return err
}

// Load reads the session (see Store.Load).
func (l *Locked) Load(ctx context.Context) (*Session, error) {
	return l.LoadInto(ctx, nil)
}

// LoadInto is Load reading the record into buf when it fits there; the
// returned Data may alias buf, and after an error matching ErrUnavailable
// the store may still be reading into it (see Store.LoadInto).
func (l *Locked) LoadInto(ctx context.Context, buf []byte) (*Session, error) {
	return l.loadInto(ctx, buf, true)
}

// LoadLockedOnly is Load for a session that every process writes only
// under its lock (Locked.Save and Locked.Delete, CompareAndSwap; never
// Store.Save or Store.Delete): no save is in flight while the lock is
// held, and on NFS a record missing is reported (ErrNotFound) without
// looking again. The sweep is the one writer that takes no lock of the
// session: it moves a record it judged expired aside, and puts it back if
// it was renewed meanwhile. The store looks for that itself, as Load does:
// at the sweep's aside name, then at the name again, after a fresh look at
// the directory (and Touch, Save and Delete under the lock reach a record
// held aside). Load there looks five times more, over some 31 ms, for a
// save by another host that takes no lock: while a process on that host
// holds the record open, its client renames the record aside before it
// renames the new one in, and the name is missing in between. Under the
// lock of a session that does not exist yet, as at every creation, those
// looks cost five round trips (a GETATTR of the directory each) for
// nothing. Should a process save the session without the lock after
// all, a save of it in flight is taken for no record, and it and the
// caller's save are ordered as two unlocked saves are: the last one wins.
func (l *Locked) LoadLockedOnly(ctx context.Context) (*Session, error) {
	return l.loadInto(ctx, nil, false)
}

// LoadIntoLockedOnly is LoadLockedOnly reading the record into buf when it
// fits there, as LoadInto does: for a session every process writes only
// under its lock, a record missing is reported without looking again. As
// with LoadInto, the returned Data may alias buf, and after an error
// matching ErrUnavailable the store may still be reading into it: drop buf
// then.
func (l *Locked) LoadIntoLockedOnly(ctx context.Context, buf []byte) (*Session, error) {
	return l.loadInto(ctx, buf, false)
}

// loadInto is LoadInto; relook: look again for a record missing on NFS
// (see LoadLockedOnly).
func (l *Locked) loadInto(ctx context.Context, buf []byte, relook bool) (*Session, error) {
	if err := l.usable(); err != nil {
		return nil, err
	}
	start := l.s.begin()
	if err := l.enter(ctx, false); err != nil {
		err = l.s.end(OpLoad, start, err, 0, l.k.name)
		return nil, err
	}
	var (
		sess *Session
		err  error
		kept keptFile
	)
	if l.s.bnd == nil {
		// Keep the record open for a Touch in this request (see file).
		sess, err = l.s.loadKeep(l.id, l.k, true, relook, &kept, buf, nil, nil)
		l.end()
	} else {
		// Under the bound the work may outlive this call; it keeps
		// nothing open past it.
		var res *Session
		err = l.run(ctx, "load", OpLoad, func(c *call) error {
			c.hook("load")
			var err error
			res, err = l.s.loadKeep(l.id, l.k, true, relook, nil, buf, c, nil)
			return err
		})
		if !errors.Is(err, ErrUnavailable) {
			sess = res
		}
	}
	n := 0
	if sess != nil {
		n = len(sess.Data)
	}
	l.mu.Lock()
	l.file.close()
	if l.unlocked {
		kept.close() // Unlock ran meanwhile
	} else {
		l.file = kept
	}
	l.live = err == nil
	if err == nil {
		l.liveUntil = sess.Expires
		// Read after the Load: a change between the two makes them
		// differ from the Load's and Touch judge again, never less.
		l.liveKeys, l.liveEncrypted = l.s.keys.Load(), l.s.encrypted.Load()
	}
	l.mu.Unlock()
	err = l.s.end(OpLoad, start, err, n, l.k.name)
	return sess, err
}

// verify fails with ErrLockLost when the lock was taken away, so work done
// under a lost lock is never written over another holder's.
func (l *Locked) verify(op string) error {
	if err := l.h.Verify(); err != nil {
		return fmt.Errorf("fsstore: %s: %w", op, err)
	}
	return nil
}

// Save writes the session (see Store.Save) after checking that the lock is
// still held: before it writes, right before the rename that publishes the
// record, and after it. A lock found lost before the rename fails the save
// with ErrLockLost and nothing is written; found lost after it, the record
// is written (and may have replaced another holder's) and the error is
// ErrLockLost too, never a silent success. sess.ID must be the locked ID.
func (l *Locked) Save(ctx context.Context, sess *Session) error {
	if err := l.usable(); err != nil {
		return err
	}
	start := l.s.begin()
	if sess == nil || sess.ID != l.id {
		err := misuse("fsstore: save: session is not the locked one")
		l.s.end(OpSave, start, err, 0, l.k.name)
		return err
	}
	if err := l.enter(ctx, true); err != nil {
		return l.s.end(OpSave, start, err, 0, l.k.name)
	}
	l.closeFile()
	var err error
	if l.s.bnd == nil {
		err = l.save(ctx, nil, sess)
		l.end()
	} else {
		cp := detachedCopy(sess)
		if err = l.run(ctx, "save", OpSave, func(c *call) error { c.bytes = len(cp.Data); return l.save(ctx, c, cp) }); err == nil {
			cp.Data = sess.Data
			*sess = *cp
		}
	}
	return l.s.end(OpSave, start, err, writtenBytes(err, len(sess.Data)), l.k.name)
}

// Touch extends the session's idle expiry (see Store.Touch).
func (l *Locked) Touch(ctx context.Context) error {
	if err := l.usable(); err != nil {
		return err
	}
	start := l.s.begin()
	if err := l.enter(ctx, true); err != nil {
		return l.s.end(OpTouch, start, err, 0, l.k.name)
	}
	var err error
	if l.s.bnd == nil {
		err = l.touch(nil)
		l.end()
	} else {
		err = l.run(ctx, "touch", OpTouch, l.touch)
	}
	return l.s.end(OpTouch, start, err, 0, l.k.name)
}

// Delete removes the session (see Store.Delete) after checking that the
// lock is still held. It never removes a record another holder saved: a
// holder can lose its lock without knowing it (a process stopped past its
// lease under the lease strategy, a host cut off past its NFS lease), and
// the next holder may have saved the session since this one's check. So
// there Delete moves the record aside (to a name of its own, where Loads
// look, not the sweep's), checks the lock, and only then
// removes the copy aside; a lock found lost leaves the copy there, where
// Loads find it, for the sweep to put back (unless the next holder saved
// the session since: its record stays, and the older copy goes), and the
// error matches ErrLockLost: the session was not deleted. A lock found lost only
// after the removal makes the error match ErrLockLost and ErrInDoubt: the
// record this holder had is gone, but the next holder may have read it, in
// the instant it was aside, and saved the session again (see
// docs/design.md, "The lost-lock window"). A flock or OFD lock on a local
// file system is never lost so, and Delete there unlinks as Store.Delete.
func (l *Locked) Delete(ctx context.Context) error {
	if err := l.usable(); err != nil {
		return err
	}
	start := l.s.begin()
	if err := l.enter(ctx, true); err != nil {
		return l.s.end(OpDelete, start, err, 0, l.k.name)
	}
	l.closeFile()
	var err error
	if l.s.bnd == nil {
		err = l.delete(nil)
		l.end()
	} else {
		err = l.run(ctx, "delete", OpDelete, l.delete)
	}
	return l.s.end(OpDelete, start, err, 0, l.k.name)
}

func (l *Locked) save(ctx context.Context, c *call, sess *Session) error {
	c.hook("save")
	if err := l.verify("save"); err != nil {
		return err
	}
	return l.s.save(ctx, c, l.k, sess, l.h.Verify, nil)
}

func (l *Locked) touch(c *call) error {
	c.hook("touch")
	if err := l.verify("touch"); err != nil {
		return err
	}
	l.mu.Lock()
	live, until := l.live, l.liveUntil
	sameJudge := l.liveKeys == l.s.keys.Load() && l.liveEncrypted == l.s.encrypted.Load()
	l.mu.Unlock()
	if live && sameJudge && (until.IsZero() || l.s.cfg.now().Before(until)) {
		// Load saw the session live, under the same key set, and it has
		// not expired since: no need to judge it again. Touch the file Load read, through the
		// descriptor it kept (unbounded stores only), or by name.
		l.mu.Lock()
		err := errNoFDTouch
		if l.file.ok {
			err = l.s.touchOpen(c, l.k, l.file.f)
		}
		l.mu.Unlock()
		if err != errNoFDTouch {
			return err
		}
		return l.s.touchLive(c, l.id, l.k)
	}
	return l.s.touch(c, l.id, l.k)
}

func (l *Locked) delete(c *call) error {
	c.hook("delete")
	if err := l.verify("delete"); err != nil {
		return err
	}
	if l.s.nfs || l.s.locks.Strategy() == lock.Lease {
		return l.s.deleteLocked(c, l.k, l.h.Verify)
	}
	// A flock or OFD lock on a local file system is held until its
	// holder lets go, stopped or not: nobody else saves while the unlinks
	// run, and a rename aside would only cost a system call more.
	removed, err := l.s.deleteRemoved(c, l.k)
	if err != nil {
		return err
	}
	if err := l.h.Verify(); err != nil {
		return lostAtLastCheck(err, removed)
	}
	return nil
}

// lostAtLastCheck is the error of a Locked.Delete whose last check, after
// every step, found the lock lost (err). The Delete is in doubt when it
// removed a copy of the record, or moved one aside under a check that
// passed (removed): the next holder may have read that copy meanwhile,
// and saved the session again. Where it found no copy anywhere, it
// removed nothing (a temp file at most, whose save fails by itself), and
// the session is as the next holder left it: ErrLockLost alone, as for a
// Delete that found its lock lost before removing anything.
func lostAtLastCheck(err error, removed bool) error {
	if !removed {
		return fmt.Errorf("fsstore: delete: %w; nothing was deleted: no record of the session was found", err)
	}
	return fmt.Errorf("fsstore: delete: deleted, but %w: %w", err, ErrInDoubt)
}

// deleteLocked is Store.delete for a holder of the session's lock, which
// verify checks, where the lock can be lost while held: under leases, and
// on NFS whatever the strategy. Its steps are Store.delete's, in that
// order, for the same reasons: the fenced temp file, the name, the aside
// names, the name again, the temp file again. But nothing is unlinked by
// a name another party may have put the next holder's record under since
// this holder's last check: a holder that lost its lock after that check
// (stopped past its lease; cut off past its NFS lease, with its call on
// the wire, retransmitted once the link is back) would remove whatever
// the next holder saved meanwhile, and no file system unlinks
// conditionally.
//
// So each removal is a move to this Delete's own aside name
// (deleteAsideName), a check of the lock, and only then the unlink of the
// copy there. A Load that finds no record looks at that name too
// (readMovedAside), so the next holder still sees the session while it is
// there. A lease that holds at the check was held at the move: a lease
// broken and taken over never comes back to its holder. A lock found lost
// leaves the copy there, for the sweep to settle under the session's lock
// as it settles a copy left under its own aside name (pending): put back
// while live, unless a newer record has the name, removed once expired.
// Put back from here, with link(2) as the sweep does, it could land first
// while a sweep held the next holder's newer record under the sweep's
// aside name, meaning to put it back: that put-back then found the name
// taken and removed the newer record as the older. Under the session's
// lock no holder acts meanwhile, and the sweep puts back the newer of
// two copies aside (pendingLocked). Meanwhile Loads, Touch and Deletes
// find the copy there.
//
// The name is not the sweep's (asideName): each of the two unlinks by name
// what it checked, and with one name between them, either could unlink
// what the other had moved there meanwhile: the sweep, a record the
// stopped holder moved over the expired copy the sweep had just checked;
// the holder, a record the sweep moved there after the holder's check,
// meaning to put it back. A copy the sweep holds aside is taken the same
// way: moved to this Delete's name, checked, and removed there; the sweep
// then finds its name empty, as after an unlocked Delete. That name is
// emptied first, under the check after the move of the name: a rename
// replaces its target, which may hold a copy an earlier Delete that found
// its lock lost left there, newer than the sweep's. Replaced, and this
// lock then found lost, the session was the sweep's older copy, and the
// Delete said nothing was deleted. A lock found lost after a copy was
// removed is reported with ErrInDoubt. Where the name was empty and the
// copy removed first was the newer of two aside, the sweep's older copy
// is still left as the session: removing it first would take a third
// name (see docs/design.md, "The lost-lock window").
//
// A check that passes does not keep the lock: the holder may be stopped
// between it and the unlink of the copy aside, while the next holder takes
// the lock and reads the copy. Removing that copy takes nothing the next
// holder saved (its saves go under the name, which the last round moves
// aside and checks in turn, and the sweep never moves anything to this
// name), but it may have acted on the session this Delete removes: the
// last check, after every step, reports that as ErrLockLost and
// ErrInDoubt. What remains is two holders of the session stopped past
// their leases at once, one moving the next holder's record aside just
// before the other removes the copy there: the latter then reports
// ErrInDoubt.
//
// On NFS this costs a RENAME more per Delete than an unlink of the name
// (see docs/measurements.md), and the look at the sweep's aside name a
// LOOKUP, as a look at a name not cached. The check between them costs
// nothing more under flock, which confirms a lock with the server at
// most once per VerifyAfter, and one read of the lease file under leases
// (on NFS an OPEN, a READ and a CLOSE).
func (s *Store) deleteLocked(c *call, k key, verify func() error) error {
	p, dir, err := s.beginDelete(c, k)
	if err != nil {
		return err
	}
	temp, sweepAside, aside := filepath.Join(dir, fencedTemp(k.name)), filepath.Join(dir, asideName(k.name)), filepath.Join(dir, deleteAsideName(k.name))
	if _, err := s.deleteUnlink(p, "temp", temp, true); err != nil {
		return err
	}
	// The check comes even when the name was empty: the aside name may
	// hold a copy a Delete killed there, or one that found its lock lost,
	// left, which the unlink below removes.
	movedName, err := s.moveAsideChecked(p, p, aside, "name", true, false, verify)
	if err != nil {
		return err
	}
	// What the aside name holds goes under the check just passed, before
	// anything else is moved there: a rename replaces its target. Moved
	// over a newer copy a Delete that found its lock lost had left there,
	// the sweep's older copy was the session once this Delete found its
	// own lock lost at the next check, and it said nothing was deleted.
	// No fresh look: the one before the move, in the same directory,
	// serves.
	removed, err := s.deleteUnlink(p, "aside", aside, false)
	if err != nil {
		return err
	}
	// From a copy moved aside under a passing check, or one removed, a
	// lock found lost leaves the delete in doubt: the next holder may
	// have read the copy this Delete was removing. Before, nothing was
	// deleted.
	inDoubt := movedName || removed
	// gone: a copy of the record was removed, not only moved aside,
	// where Loads still find it. An error from here on is ErrInDoubt
	// then (partlyDeleted).
	gone := removed
	moved, err := s.moveAsideChecked(p, sweepAside, aside, "sweep aside", false, inDoubt, verify)
	if err != nil {
		if inDoubt && errors.Is(err, ErrLockLost) {
			return fmt.Errorf("%w; the record this holder had was removed: %w", err, ErrInDoubt)
		}
		return partlyDeleted(err, gone)
	}
	if moved {
		if _, err := s.deleteUnlink(p, "sweep aside aside", aside, false); err != nil {
			return partlyDeleted(err, gone)
		}
		inDoubt, gone = true, true
	}
	// The name again: a sweep may have put the record back between the
	// first move and the look at its aside name (see Store.delete), or,
	// under a lost lock, the next holder saved since.
	moved, err = s.moveAsideChecked(p, p, aside, "again", false, inDoubt, verify)
	if err != nil {
		if inDoubt && errors.Is(err, ErrLockLost) {
			return fmt.Errorf("%w; the record this holder had was removed: %w", err, ErrInDoubt)
		}
		return partlyDeleted(err, gone)
	}
	if moved {
		if _, err := s.deleteUnlink(p, "again aside", aside, false); err != nil {
			return partlyDeleted(err, gone)
		}
		gone = true
	}
	if _, err := s.deleteUnlink(p, "temp again", temp, true); err != nil {
		return partlyDeleted(err, gone)
	}
	if err := verify(); err != nil {
		return lostAtLastCheck(err, inDoubt || gone)
	}
	return nil
}

// partlyDeleted is the error err of a Delete's step when an earlier step
// removed a copy of the record (gone): the session may be gone, and a
// clean failure would have the caller take it for still there. It
// matches ErrInDoubt then, as a save published before its error does (the
// fsync of its directory failed after the rename). A copy only moved to a
// locked Delete's aside name is not gone: Loads read it there.
func partlyDeleted(err error, gone bool) error {
	if !gone {
		return err
	}
	return fmt.Errorf("%w; a copy of the record was removed before: %w", err, ErrInDoubt)
}

// deleteUnlink is one unlink of a Delete, after a fresh look at the
// directory on NFS when fresh (see Store.delete); a name already gone is
// no error, and removed is false. step names it for the test hook.
func (s *Store) deleteUnlink(p, step, file string, fresh bool) (removed bool, err error) {
	if fresh {
		s.refreshDir(p)
	}
	err = s.root.unlink(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// The record is what the operator knows.
		return false, fmt.Errorf("fsstore: delete: %s: %w", p, &fs.PathError{Op: "unlink", Path: filepath.Base(file), Err: err})
	}
	if h := s.testHooks.afterDelete; h != nil {
		h(step)
	}
	return err == nil, nil
}

// moveAsideChecked moves the file at from (the record's name p, or the
// sweep's aside name) to aside, a locked Delete's aside name, and checks
// the lock (always: also when nothing was there to move). A check that
// fails leaves what it moved there and returns the check's error, which
// says where the copy was left; removed says whether this Delete removed
// a record before (the caller then adds ErrInDoubt), else the error says
// nothing was deleted. moved reports whether there was a file at from.
// step names it for the test hook, which runs after the move and, as
// step+" check", after the check.
//
// The error says what this Delete did, in the past, and what the sweep
// will do with the copy: by the time it is read, the next holder may have
// deleted the copy, or a sweep settled it, put back or, older than the
// record at the name or expired, removed. It said the record "is left"
// there "for the sweep to put back", which a reader took for where the
// session is now.
func (s *Store) moveAsideChecked(p, from, aside, step string, always, removed bool, verify func() error) (moved bool, err error) {
	s.refreshDir(p)
	switch err := s.root.rename(from, aside); {
	case err == nil:
		moved = true
	case errors.Is(err, fs.ErrNotExist):
	default:
		return false, fmt.Errorf("fsstore: delete: %s: %w", p, &os.LinkError{Op: "rename", Old: filepath.Base(from), New: filepath.Base(aside), Err: err})
	}
	h := s.testHooks.afterDelete
	if h != nil {
		h(step)
	}
	if !moved && !always {
		return false, nil
	}
	if verr := verify(); verr != nil {
		if moved {
			// Not put back from here: see deleteLocked.
			what := "nothing was deleted: the record it moved aside"
			if removed {
				what = "the record it moved aside last"
			}
			return true, fmt.Errorf("fsstore: delete: %w; %s was left at %s (Loads read it there while the name is empty) for the sweep to settle under the session's lock: put back while live unless the name holds a newer record, else removed", verr, what, aside)
		}
		return moved, fmt.Errorf("fsstore: delete: %w", verr)
	}
	if h != nil {
		h(step + " check")
	}
	return moved, nil
}

// Unlock releases the lock. Calling it again does nothing. While an
// operation on the session is still under way (on a bounded store, one
// given up on with ErrUnavailable that the filesystem has not finished),
// the lock is released only when it ends, so that nothing is written under
// a lock given back; Unlock then returns at once, with an error matching
// ErrUnavailable if that operation was given up on. On a bounded store,
// Unlock waits for the release up to the ceiling (WithOpTimeout, longer
// while the server answers other calls), or not at all while the circuit
// breaker is open, and the release goes on in the background
// (ErrUnavailable).
func (l *Locked) Unlock() error {
	if err := l.usable(); err != nil {
		return err
	}
	l.mu.Lock()
	if l.unlocked {
		l.mu.Unlock()
		return nil
	}
	l.unlocked = true
	l.file.close()
	if l.running > 0 {
		l.wantUnlock = true
		broken := l.broken
		l.mu.Unlock()
		if broken {
			return fmt.Errorf("fsstore: unlock: %w: released once the operation given up on returns", ErrUnavailable)
		}
		return nil
	}
	l.mu.Unlock()
	var err error
	if b := l.s.bnd; b == nil {
		err = l.h.Unlock()
	} else {
		err = b.unlock(l.h, l.k.name)
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("fsstore: unlock: %w", err)
	}
	return err
}

// closeFile closes the file the last Load kept open, if any.
func (l *Locked) closeFile() {
	l.mu.Lock()
	l.file.close()
	l.mu.Unlock()
}

// recordPath is the path of k's record, which an error about its session
// names: the lock file an operation failed on is shared by a stripe of
// sessions, and says nothing of which one.
func (s *Store) recordPath(k key) string {
	_, p := s.path(k)
	return p
}

// lockErr wraps an error of the lock table for op. The table closes with
// the store, so a wait that Close ended also matches ErrClosed, the error
// callers know (httpsession answers 503 for it, as for a restart). A
// permission error (a lock file root made, running sessgc or an app as
// root once) says what to do about it, as Open's do, for the store in
// storeDir: the bare EACCES failed every session on that lock file.
func lockErr(op string, err error, storeDir string) error {
	return fmt.Errorf("fsstore: %s: %w", op, withOwnerHint(storeDir, closedLock(err)))
}

// closedLock is err of the lock table, made to match ErrClosed too when the
// table was closed (see lockErr). Every error of s.locks goes through it.
func closedLock(err error) error {
	if errors.Is(err, lock.ErrClosed) && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}
