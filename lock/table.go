package lock

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"
)

// maxHandoffs bounds how many times in a row an exclusive OS lock passes from
// one goroutine of this process to another without being released. Handing
// over saves two round trips on NFS; releasing now and then gives waiters on
// other hosts their turn.
const maxHandoffs = 8

// maxPoll caps the interval between attempts while another owner holds a
// lock. Each attempt is a LOCK round trip on NFS; 20ms keeps a waiting host
// from flooding the server and bounds the extra wait after a release.
const maxPoll = 20 * time.Millisecond

// backend takes and releases the OS-level lock for one name.
type backend interface {
	// try attempts the lock without blocking: (nil, nil) when another owner
	// holds it.
	try(name string, mode Mode) (osLock, error)
	close() error
}

// osLock is one OS-level lock held by this process.
type osLock interface {
	verify() error
	unlock() error
}

// Table hands out named locks in one directory. It is safe for concurrent use.
// The zero value is not usable; call NewTable.
type Table struct {
	cfg      Config
	strategy Strategy
	be       backend
	sem      chan struct{} // one token per OS lock held

	mu      sync.Mutex
	entries map[string]*entry
	closed  bool
}

// entry is the in-process state of one name. Every field is guarded by
// Table.mu. changed is closed and replaced on every state change, so waiters
// can select on it together with their context.
type entry struct {
	os          osLock // nil while this process holds no OS lock
	mode        Mode
	holders     int
	busy        bool // a goroutine is taking or releasing the OS lock
	handoff     bool // os is kept for the next exclusive waiter
	handoffs    int
	waiters     int
	exclWaiters int
	changed     chan struct{}
}

func (e *entry) broadcast() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// NewTable returns a Table for cfg.Dir, probing the directory when
// cfg.Strategy is Auto. It fails when the directory cannot hold locks with
// the requested strategy.
func NewTable(cfg Config) (*Table, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	strategy, err := probe(&cfg)
	if err != nil {
		return nil, err
	}
	t := &Table{
		cfg:      cfg,
		strategy: strategy,
		sem:      make(chan struct{}, cfg.MaxHeld),
		entries:  make(map[string]*entry),
	}
	switch strategy {
	case Flock:
		t.be = newFlockBackend(&cfg)
	case Lease:
		t.be = newLeaseBackend(&cfg)
	}
	return t, nil
}

// Strategy reports the strategy in use (never Auto).
func (t *Table) Strategy() Strategy { return t.strategy }

// Dir returns the directory that holds the lock files.
func (t *Table) Dir() string { return t.cfg.Dir }

// Close releases the kept-open lock descriptors. Locks still held stay held
// until their handles are unlocked; new acquisitions fail with ErrClosed.
func (t *Table) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	return t.be.close()
}

// Lock acquires the named lock in mode, waiting until it is free or ctx ends.
// When ctx ends first the error matches both ErrLocked and ctx.Err().
func (t *Table) Lock(ctx context.Context, name string, mode Mode) (*Handle, error) {
	return t.acquire(ctx, name, mode, true)
}

// TryLock acquires the named lock in mode if it is free now, and returns an
// error matching ErrLocked otherwise.
func (t *Table) TryLock(name string, mode Mode) (*Handle, error) {
	return t.acquire(context.Background(), name, mode, false)
}

func (t *Table) acquire(ctx context.Context, name string, mode Mode, block bool) (*Handle, error) {
	if !validName(name) {
		return nil, fmt.Errorf("lock: invalid lock name %q", name)
	}
	if mode != Exclusive && mode != Shared {
		return nil, fmt.Errorf("lock: invalid mode %d", mode)
	}
	if t.strategy == Lease {
		mode = Exclusive // leases have no shared form
	}
	path := filepath.Join(t.cfg.Dir, name)

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, ErrClosed
	}
	e := t.entries[name]
	if e == nil {
		e = &entry{changed: make(chan struct{})}
		t.entries[name] = e
	}
	e.waiters++
	if mode == Exclusive {
		e.exclWaiters++
	}
	for {
		switch {
		case e.os != nil && e.handoff && mode == Exclusive:
			e.handoff = false
			e.handoffs++
			e.holders = 1
			t.leave(e, mode)
			t.mu.Unlock()
			return &Handle{t: t, name: name, e: e, mode: mode}, nil

		case e.os != nil && !e.handoff && !e.busy && mode == Shared && e.mode == Shared && e.exclWaiters == 0:
			e.holders++
			t.leave(e, mode)
			t.mu.Unlock()
			return &Handle{t: t, name: name, e: e, mode: mode}, nil

		case e.os == nil && !e.busy:
			e.busy = true
			t.mu.Unlock()
			l, err := t.acquireOS(ctx, path, name, mode, block)
			t.mu.Lock()
			e.busy = false
			e.broadcast()
			if err != nil {
				t.leave(e, mode)
				t.forget(name, e)
				t.mu.Unlock()
				return nil, err
			}
			e.os, e.mode, e.holders, e.handoffs = l, mode, 1, 0
			t.leave(e, mode)
			t.mu.Unlock()
			return &Handle{t: t, name: name, e: e, mode: mode}, nil
		}

		// Someone in this process holds or is taking the lock: queue here,
		// so the process holds one OS lock per name.
		if !block {
			t.leave(e, mode)
			t.mu.Unlock()
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		ch := e.changed
		t.mu.Unlock()
		select {
		case <-ch:
			t.mu.Lock()
		case <-ctx.Done():
			t.mu.Lock()
			t.leave(e, mode)
			if e.handoff && e.exclWaiters == 0 {
				// The OS lock was being kept for waiters that all gave up.
				t.releaseOS(e)
			}
			t.forget(name, e)
			t.mu.Unlock()
			return nil, &waitError{path: path, err: ctx.Err()}
		}
	}
}

// leave undoes the waiter registration of acquire. t.mu must be held.
func (t *Table) leave(e *entry, mode Mode) {
	e.waiters--
	if mode == Exclusive {
		e.exclWaiters--
	}
}

// forget drops an entry nobody uses, so memory does not grow with the number
// of names ever locked. t.mu must be held.
func (t *Table) forget(name string, e *entry) {
	if e.os == nil && !e.busy && e.holders == 0 && e.waiters == 0 {
		delete(t.entries, name)
	}
}

// acquireOS takes a MaxHeld token and then the OS lock, polling with backoff
// while another owner holds it. Blocking lock calls cannot honour a context
// (flock(2) only returns early on a signal), hence the polling.
func (t *Table) acquireOS(ctx context.Context, path, name string, mode Mode, block bool) (osLock, error) {
	if block {
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, &waitError{path: path, err: ctx.Err()}
		}
	} else {
		select {
		case t.sem <- struct{}{}:
		default:
			return nil, fmt.Errorf("lock %s: %w (MaxHeld=%d locks already held by this process)", path, ErrLocked, t.cfg.MaxHeld)
		}
	}
	var d time.Duration
	for {
		l, err := t.be.try(name, mode)
		if err != nil {
			<-t.sem
			return nil, err
		}
		if l != nil {
			return l, nil
		}
		if !block {
			<-t.sem
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		if err := ctx.Err(); err != nil {
			<-t.sem
			return nil, &waitError{path: path, err: err}
		}
		d = backoff(d, maxPoll)
		// Jitter keeps waiters on different hosts from polling in step.
		if err := sleepCtx(ctx, d/2+rand.N(d/2+1)); err != nil {
			<-t.sem
			return nil, &waitError{path: path, err: err}
		}
	}
}

// releaseOS releases the entry's OS lock. t.mu must be held; it is dropped
// during the unlock call (a round trip on NFS) and held again on return.
func (t *Table) releaseOS(e *entry) error {
	l := e.os
	e.os, e.handoff, e.busy = nil, false, true
	t.mu.Unlock()
	err := l.unlock()
	<-t.sem
	t.mu.Lock()
	e.busy = false
	e.broadcast()
	return err
}

// Handle is one holder's share of a lock. Unlock it exactly once.
type Handle struct {
	t    *Table
	name string
	e    *entry
	mode Mode

	mu       sync.Mutex
	released bool
}

// Mode reports the mode the lock is held in (Shared requests are held
// Exclusive under the Lease strategy).
func (h *Handle) Mode() Mode { return h.mode }

// Name returns the lock's name within its Table's directory.
func (h *Handle) Name() string { return h.name }

// Verify reports ErrLockLost when the lock has been taken away (see the
// package documentation). Call it before publishing work done under the lock.
// On local filesystems it costs nothing; on NFS it costs one round trip when
// the lock has been held longer than Config.VerifyAfter.
func (h *Handle) Verify() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return fmt.Errorf("lock %s: verify after unlock: %w", h.name, ErrLockLost)
	}
	h.t.mu.Lock()
	l := h.e.os
	h.t.mu.Unlock()
	return l.verify()
}

// Unlock releases this holder's share. Calling it again does nothing. An
// error means the OS reported a failure while releasing (on NFS after a lost
// lock, for example); the lock is released either way.
func (h *Handle) Unlock() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return nil
	}
	h.released = true
	t, e := h.t, h.e
	t.mu.Lock()
	defer t.mu.Unlock()
	e.holders--
	if e.holders > 0 {
		return nil
	}
	if h.mode == Exclusive && e.exclWaiters > 0 && e.handoffs < maxHandoffs {
		e.handoff = true
		e.broadcast()
		return nil
	}
	err := t.releaseOS(e)
	t.forget(h.name, e)
	return err
}
