package fsstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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
	// package). Saves through it fail with ErrReadOnly.
	Shared = lock.Shared
)

// Locked is a session held under its lock for the length of a request:
// Lock, Load, Save, Unlock. Methods are safe for concurrent use, but a
// request normally uses it from one goroutine.
type Locked struct {
	s    *Store
	id   string
	k    key
	h    *lock.Handle
	mode LockMode

	mu       sync.Mutex
	unlocked bool
	// live is set by a Load under this lock that found the session live,
	// liveUntil to its expiry: until then Touch needs no lstat to refuse
	// reviving an expired session, as nobody else saves it meanwhile.
	live      bool
	liveUntil time.Time
}

// Lock acquires the session's lock, waiting until it is free or ctx ends
// (the error then matches ErrLocked and ctx.Err()). The session need not
// exist yet. Unlock the result when the request is done. When the process
// already holds WithMaxHeldLocks lock files and this session's is not among
// them, it fails at once with ErrTooManyLocks.
//
// Locks are striped: a fixed set of lock files (WithLockStripes) covers all
// sessions, so sessions on one stripe held by different processes or hosts
// take turns. That is the price of never removing lock files (see the lock
// package). Within one process distinct sessions never wait for each other:
// a caller may hold several at once, and CompareAndSwap or Lock of another
// session under a held lock never waits for the caller itself.
func (s *Store) Lock(ctx context.Context, id string, mode LockMode) (*Locked, error) {
	start := s.begin()
	k, err := s.check(ctx, id)
	if err != nil {
		return nil, err
	}
	h, err := s.locks.Lock(ctx, stripeName(k.stripe, s.layout.stripes), k.name, mode)
	if err != nil {
		err = fmt.Errorf("fsstore: lock: %w", err)
	}
	s.end(OpLockWait, start, err, 0, k.name)
	if err != nil {
		return nil, err
	}
	return &Locked{s: s, id: id, k: k, h: h, mode: mode}, nil
}

// TryLock is Lock without waiting: it fails with ErrLocked when the lock is
// held elsewhere.
func (s *Store) TryLock(id string, mode LockMode) (*Locked, error) {
	k, err := s.check(context.Background(), id)
	if err != nil {
		return nil, err
	}
	h, err := s.locks.TryLock(stripeName(k.stripe, s.layout.stripes), k.name, mode)
	if err != nil {
		return nil, fmt.Errorf("fsstore: lock: %w", err)
	}
	return &Locked{s: s, id: id, k: k, h: h, mode: mode}, nil
}

// ID returns the locked session's ID.
func (l *Locked) ID() string { return l.id }

// Mode returns the mode the lock was requested in.
func (l *Locked) Mode() LockMode { return l.mode }

func (l *Locked) usable(ctx context.Context, write bool) error {
	l.mu.Lock()
	unlocked := l.unlocked
	l.mu.Unlock()
	switch {
	case unlocked:
		return errors.New("fsstore: session used after Unlock")
	case write && l.mode != Exclusive:
		return ErrReadOnly
	}
	return ctx.Err()
}

// Load reads the session (see Store.Load).
func (l *Locked) Load(ctx context.Context) (*Session, error) {
	if err := l.usable(ctx, false); err != nil {
		return nil, err
	}
	start := l.s.begin()
	sess, err := l.s.load(l.id, l.k, true)
	n := 0
	if sess != nil {
		n = len(sess.Data)
	}
	l.mu.Lock()
	l.live = err == nil
	if err == nil {
		l.liveUntil = sess.Expires
	}
	l.mu.Unlock()
	l.s.end(OpLoad, start, err, n, l.k.name)
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
	if err := l.usable(ctx, true); err != nil {
		return err
	}
	if sess == nil || sess.ID != l.id {
		return errors.New("fsstore: save: session is not the locked one")
	}
	start := l.s.begin()
	err := l.verify("save")
	if err == nil {
		err = l.s.save(ctx, l.k, sess, l.h.Verify)
	}
	l.s.end(OpSave, start, err, len(sess.Data), l.k.name)
	return err
}

// Touch extends the session's idle expiry (see Store.Touch).
func (l *Locked) Touch(ctx context.Context) error {
	if err := l.usable(ctx, true); err != nil {
		return err
	}
	start := l.s.begin()
	err := l.verify("touch")
	l.mu.Lock()
	live, until := l.live, l.liveUntil
	l.mu.Unlock()
	switch {
	case err != nil:
	case live && (until.IsZero() || l.s.cfg.now().Before(until)):
		// Load saw the session live and it has not expired since: skip
		// touch's lstat (one system call; on NFS possibly a GETATTR).
		err = l.s.touchLive(l.k)
	default:
		err = l.s.touch(l.id, l.k)
	}
	l.s.end(OpTouch, start, err, 0, l.k.name)
	return err
}

// Delete removes the session (see Store.Delete).
func (l *Locked) Delete(ctx context.Context) error {
	if err := l.usable(ctx, true); err != nil {
		return err
	}
	start := l.s.begin()
	err := l.verify("delete")
	if err == nil {
		err = l.s.delete(l.k)
	}
	l.s.end(OpDelete, start, err, 0, l.k.name)
	return err
}

// Unlock releases the lock. Calling it again does nothing.
func (l *Locked) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlocked {
		return nil
	}
	l.unlocked = true
	if err := l.h.Unlock(); err != nil {
		return fmt.Errorf("fsstore: unlock: %w", err)
	}
	return nil
}
