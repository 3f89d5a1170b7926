package lock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessfs/sessfs/internal/opwatch"
)

// minHandoffHold bounds how long this process keeps a file's OS lock for
// itself, passing it from the last holder of the process to the next
// (handed over to a waiting goroutine without being released, which saves
// two round trips on NFS, or released and taken again within
// retakeWithin): once that has lasted minHandoffHold, with the process
// holding it most of the time (busyEnough), the next release leaves it
// alone for yieldAfterHandoffs, so that waiters on other hosts get their
// turn. It is a time, not a number of turns: a turn may be a whole
// request (httpsession's Exclusive mode holds the lock through the
// handler), and eight of a second each kept other hosts out for eight
// seconds.
const minHandoffHold = 5 * yieldAfterHandoffs

// yieldAfterHandoffs is how long this process leaves a file's OS lock
// alone after releasing it for other hosts' sake: its goroutines, waiting
// or coming back for it with Lock, would otherwise take it again within
// microseconds of the release, while a waiter elsewhere sleeps between
// polls for up to maxPoll: it would never get its turn. A waiter
// elsewhere polls at least once in this long. With minHandoffHold, the
// process gives up at most a sixth of a stripe it keeps busy on its own.
const yieldAfterHandoffs = maxPoll

// retakeWithin: an OS lock this process takes again less than this long
// after releasing it is a turn of the same tenure, as a handover is (see
// minHandoffHold). A waiter elsewhere, which polls at least every maxPoll,
// may not have polled in so short a gap; a process that releases and
// takes a lock again in a loop (one goroutine locking one session
// request after request) would otherwise keep it from other hosts for as
// long as the loop lasts.
const retakeWithin = maxPoll

// maxPoll caps the interval between attempts while another owner holds a
// lock. Each attempt is a LOCK round trip on NFS; 20ms keeps a waiting host
// from flooding the server and bounds the extra wait after a release.
const maxPoll = 20 * time.Millisecond

// backend takes and releases the OS-level lock on one lock file. The lock is
// always exclusive (see Table).
type backend interface {
	// try attempts the lock without blocking: a nil osLock and nil error when
	// another owner holds it. at is a reading of the monotonic clock taken
	// once the lock was granted: the lock's last confirmation and the
	// Table's time of the take, one reading for both.
	try(file string) (l osLock, at mono, err error)
	// openFiles reports the descriptors the backend keeps open.
	openFiles() int
	// evictIdle closes idle kept descriptors until at most keep are open,
	// and reports how many it closed.
	evictIdle(keep int) int
	// lockDir is the directory the backend locks in.
	lockDir() *lockDir
	close() error
}

// backendRef holds a Table's backend, which a Table that finds its
// directory replaced swaps for one in the directory now at its path,
// with what that directory's mount decides: a lock directory moved
// from a local disk to AWS EFS (or to a FUSE mount) is locked there
// under EFS's cap, and reported on FUSE, as a table opened there is.
type backendRef struct {
	be backend
	// maxHeld is Config.MaxHeld with its default for the mount (see
	// Config.setLimits); efs and fuse are what probeMount found there.
	maxHeld   int
	efs, fuse bool
}

// newBackendRef is the backendRef of be, made with cfg once probeMount
// and setLimits have filled it in.
func newBackendRef(be backend, cfg *Config) *backendRef {
	return &backendRef{be: be, maxHeld: cfg.MaxHeld, efs: cfg.efs, fuse: cfg.fuse}
}

// osLock is one OS-level lock held by this process.
type osLock interface {
	// verify reports ErrLockLost once the lock is known to be gone; it
	// may be called by several goroutines at once.
	verify() error
	// lost reports whether verify has already found the lock gone. It
	// never waits, not even for a verify in flight.
	lost() bool
	unlock() error
}

// Table hands out keyed locks backed by lock files in one directory. It is
// safe for concurrent use. The zero value is not usable; call NewTable:
// the calls that return an error fail, on a Table{} or a nil *Table, with
// one saying so.
//
// A lock is requested for a key on a lock file. Keys exclude each other
// only when they are equal: inside one process, two distinct keys never wait
// for each other, even when they share a lock file. Across processes and
// hosts the lock file is the unit: the process takes the file's OS lock
// (flock or lease) exclusively when the first of its keys on that file is
// locked, shares it among all of its keys on the file, and releases it when
// the last one is unlocked. So a goroutine may hold any number of distinct
// keys at once without risk of waiting for itself.
//
// The OS lock is exclusive even when every key on it is held Shared: flock
// cannot turn a shared lock into an exclusive one atomically (Linux drops
// the old lock first, and a failed non-blocking conversion loses it), and
// waiting for the process's own shared holders to leave before taking it
// exclusively would make a goroutine holding one key Shared wait for itself
// when it locks another key Exclusive. Shared therefore admits other Shared
// holders of the same key in the same process, and excludes everybody else.
type Table struct {
	cfg      Config
	strategy Strategy
	// be is the backend takes go to; the osLocks of an earlier one (its
	// directory found replaced: see current) stay with it, and are lost.
	be atomic.Pointer[backendRef]
	// maxHeldAsked is Config.MaxHeld as given (0: the default), which a
	// reopen applies to the mount it finds (see reopenDir).
	maxHeldAsked int
	// reopenMu serializes reopen, and Close's closing of the backend
	// with it, and guards reopenErr, reopenAt and reopenTries.
	reopenMu sync.Mutex
	// reopenErr: the last reopen found the directory one the table
	// cannot lock in (lastingReopenErr), at reopenAt; takes fail with
	// it, without trying again, for VerifyAfter from then (see reopen).
	reopenErr error
	reopenAt  mono
	// reopenTries counts the directory's opens by reopen (tests).
	reopenTries int
	// retired: the backends reopen replaced, whose held locks still keep
	// descriptors open (Stats). Guarded by mu.
	retired []backend

	// mu guards the in-process state of every lock file, so every Lock
	// and Unlock of the process takes it. It is never held across a call
	// into the backend or an osLock: those reach the filesystem (a round
	// trip on NFS, milliseconds on EFS, forever on a hung mount), and one
	// stripe's slow call must not hold up the others. A file whose OS lock
	// is being taken or released is marked busy instead, and its waiters
	// wait for that call to end.
	mu     sync.Mutex
	files  map[string]*fileState
	held   int // OS locks held, including those being released
	closed bool
	// idlePrune is the size of files at which forget drops the states
	// nobody uses whose tenure no longer matters (see forget).
	idlePrune int
	// spare: waiters no longer queued, for reuse, so that a contended
	// key's turns allocate no queue entry and channel each.
	spare []*waiter
}

// maxSpare bounds Table.spare.
const maxSpare = 16

// newWaiter returns a waiter for a caller that must wait in mode, reusing
// a spare one. t.mu must be held.
func (t *Table) newWaiter(mode Mode) *waiter {
	if n := len(t.spare); n > 0 {
		w := t.spare[n-1]
		t.spare[n-1] = nil
		t.spare = t.spare[:n-1]
		w.mode = mode
		return w
	}
	return &waiter{mode: mode, ready: make(chan struct{}, 1)}
}

// putWaiter keeps w, off its queue and no longer used by its caller, for
// reuse: nothing wakes a waiter that is not queued, so the one wake-up
// it may hold is dropped. t.mu must be held.
func (t *Table) putWaiter(w *waiter) {
	if w.woken {
		select {
		case <-w.ready:
		default:
		}
		w.woken = false
	}
	if len(t.spare) < maxSpare {
		t.spare = append(t.spare, w)
	}
}

// busyWindow is about the longest stretch of a tenure over which
// busyEnough is judged (see served; the turn that ends past it counts
// too): about this plus minHandoffHold passes before a file that becomes
// busy is left alone for waiters elsewhere.
const busyWindow = 2 * minHandoffHold

// busyEnough reports whether this process has held f's OS lock for at
// least half of its tenure up to now. Only then is a waiter elsewhere,
// which finds the lock free at a poll with the odds of the time it is
// free, kept waiting for long: a stripe that the process takes again and
// again but holds a small part of the time (many sessions of a busy host
// sharing it, each held for a round trip) is free at most polls, and a
// pause there would only delay this host's own requests. f's table's mu
// must be held.
func (f *fileState) busyEnough(now mono) bool {
	return 2*(f.heldBefore+now.sub(f.heldFrom)) >= now.sub(f.taken)
}

// live reports whether f's tenure still matters at now: a retake would
// continue it, or the pause has not ended. What of the tenure matters is
// when the OS lock was first taken (taken), when it was last released
// with the tenure going on (released; zero after a release for others'
// sake, which ends it), until when this process leaves it alone
// (yieldUntil), and how long the OS lock was held in the tenure before its
// last take (heldBefore). t.mu must be held.
func (f *fileState) live(now mono) bool {
	return now < f.yieldUntil || (f.released != 0 && now.sub(f.released) < retakeWithin)
}

// paused reports whether the pause in which this process leaves f alone
// for other hosts' sake goes on. t.mu must be held.
func (f *fileState) paused() bool {
	return f.yieldUntil != 0 && monoNow() < f.yieldUntil
}

// unused reports whether nobody holds, waits for, takes or releases f's
// OS lock. t.mu must be held.
func (f *fileState) unused() bool {
	return f.os == nil && !f.busy && f.refs == 0 && f.waiters == 0
}

// fileState is the in-process state of one lock file. Every field is guarded
// by Table.mu. A goroutine that must wait queues on its key (keyState.queue)
// with a channel of its own, which state changes signal only for those
// they may let go on (see wakeNext), so the uncontended lock and unlock
// allocate none, and a change wakes no crowd.
type fileState struct {
	os    osLock // nil while this process holds no OS lock on the file
	busy  bool   // a goroutine is taking or releasing the OS lock
	refs  int    // handles holding a key under os
	taken mono   // when os was taken, its tenure began
	// released: when this process last released os with its tenure
	// going on; a take within retakeWithin continues it.
	released mono
	// lostOS: a holder found os lost (or a key that came to share it
	// found that the backend had, as a lease's renewal does). No further
	// key may share it: its Verify would fail every save, and while keys
	// overlapped the file would never be free to take afresh. Nor may
	// one wait for it: the goroutine asking may be its holder. Asking
	// fails with ErrLockLost until the last holder unlocks, which
	// releases it. One kept for waiters (no holder) is released by the
	// first caller that comes for it, which takes the lock afresh.
	lostOS  bool
	waiters int // goroutines in acquire for a key on this file
	keys    []*keyState
	wakes   int // waiters woken so far (tests)
	// heldFrom: when os was last taken; heldBefore: how long it was held
	// in the tenure before that (see busyEnough).
	heldFrom   mono
	heldBefore time.Duration
	// yieldUntil: the OS lock was released for other hosts' sake while
	// goroutines of this process waited for it; none takes it again
	// before this time (see yieldAfterHandoffs).
	yieldUntil mono

	// The first key and the slice's first slots live here: most files
	// have one key at a time, and the uncontended lock then allocates no
	// more than it did before keys existed.
	inline     keyState
	inlineUsed bool
	keyBuf     [2]*keyState
}

func newFileState() *fileState {
	f := &fileState{}
	f.keys = f.keyBuf[:0]
	return f
}

// keyState is the in-process state of one key. Files hold few keys at once
// (two sessions rarely share a stripe), so a slice searched linearly beats a
// map.
type keyState struct {
	key     string
	mode    Mode
	holders int
	waiters int // goroutines in acquire for the key, queued or not
	// queue: the Lock callers that wait for the key, in their order of
	// arrival. The key goes to them in that order (a run of Shared ones
	// at its head together), and a caller that is not queued takes it
	// only when nobody is: a request that did not wait (a goroutine
	// locking the key again as soon as it unlocked it, running while the
	// next in line is only being woken) would otherwise take it first
	// every time, and the queue would wait for as long as it kept coming
	// back; a TryLock then fails, and wakes nobody.
	queue []*waiter
}

// waiter is one Lock caller queued for a key.
type waiter struct {
	mode Mode
	// ready holds a wake-up; woken: one was sent that the waiter has not
	// acted on yet, so another would change nothing. Both are written
	// with the Table's mu held.
	ready chan struct{}
	woken bool
}

// turn reports whether the queue lets me (nil for a caller not queued)
// take ks in mode: nobody waits before it, or only Shared callers with
// me Shared too, which may hold the key together. t.mu must be held.
func (ks *keyState) turn(me *waiter, mode Mode) bool {
	if me == nil {
		return len(ks.queue) == 0
	}
	for _, w := range ks.queue {
		if w == me {
			return true
		}
		if w.mode != Shared || mode != Shared {
			return false
		}
	}
	return false
}

// dequeue removes me from ks's queue. t.mu must be held.
func (ks *keyState) dequeue(me *waiter) {
	if i := slices.Index(ks.queue, me); i >= 0 {
		ks.queue = slices.Delete(ks.queue, i, i+1)
	}
}

// wakeNext wakes the waiters at the head of ks's queue whom its holders
// now admit: the first, and the Shared ones after a Shared first up to
// the first Exclusive one. Nobody else could take the key, so nobody
// else is woken. With no OS lock to share, only the first is: it takes
// one, and the others would find it busy taking it (its grant wakes
// them). t.mu must be held.
func (f *fileState) wakeNext(ks *keyState) {
	for i, w := range ks.queue {
		if ks.holders > 0 && (w.mode != Shared || ks.mode != Shared) || i > 0 && (w.mode != Shared || f.os == nil) {
			return
		}
		f.wake(w)
		if w.mode != Shared {
			return
		}
	}
}

// wakeHeads is wakeNext for every key on f: the file's OS lock was taken
// or released, which any of them may have waited for. t.mu must be held.
func (f *fileState) wakeHeads() {
	for _, ks := range f.keys {
		f.wakeNext(ks)
	}
}

// wakeAll wakes every waiter on f, for Close. t.mu must be held.
func (f *fileState) wakeAll() {
	for _, ks := range f.keys {
		for _, w := range ks.queue {
			f.wake(w)
		}
	}
}

func (f *fileState) wake(w *waiter) {
	if !w.woken {
		w.woken = true
		w.ready <- struct{}{} // never blocks: ready holds one, and woken says it is empty
		f.wakes++
	}
}

func (f *fileState) key(k string) *keyState {
	for _, ks := range f.keys {
		if ks.key == k {
			return ks
		}
	}
	var ks *keyState
	if !f.inlineUsed {
		f.inlineUsed = true
		ks = &f.inline
		*ks = keyState{key: k}
	} else {
		ks = &keyState{key: k}
	}
	f.keys = append(f.keys, ks)
	return ks
}

// dropKey forgets a key nobody holds or waits for. t.mu must be held.
func (f *fileState) dropKey(ks *keyState) {
	if ks.holders > 0 || ks.waiters > 0 {
		return
	}
	for i, k := range f.keys {
		if k == ks {
			last := len(f.keys) - 1
			f.keys[i], f.keys[last] = f.keys[last], nil
			f.keys = f.keys[:last]
			if ks == &f.inline {
				f.inlineUsed = false
			}
			return
		}
	}
}

// NewTable returns a Table for cfg.Dir, probing the directory when
// cfg.Strategy is Auto. It fails when the directory cannot hold locks with
// the requested strategy.
//
// Every process that shares the directory must use the same strategy: a
// flock and a lease file do not exclude each other. So the first Table
// records its strategy in the directory (StrategyFile); a later one with
// Auto adopts it, and one that asks for the other strategy, or on whose
// mount the recorded one does not work (an NFS mount with local_lock=flock
// where the others use flock), fails with ErrStrategyMismatch.
func NewTable(cfg Config) (*Table, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	localOnly, err := probeMount(&cfg)
	if err != nil {
		return nil, err
	}
	maxHeldAsked := cfg.MaxHeld
	cfg.setLimits()
	// The directory is opened once, refusing a symlink at its name; every
	// lock and lease file is then reached relative to it.
	dir, err := openLockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	strategy, err := agreeStrategy(&cfg, dir, localOnly)
	if err != nil {
		dir.close()
		return nil, err
	}
	t := &Table{
		cfg:          cfg,
		strategy:     strategy,
		maxHeldAsked: maxHeldAsked,
		files:        make(map[string]*fileState),
	}
	t.be.Store(newBackendRef(newBackend(&t.cfg, strategy, dir), &cfg))
	return t, nil
}

func newBackend(cfg *Config, strategy Strategy, dir *lockDir) backend {
	dir.setNFS(cfg.nfs)
	if strategy == Flock {
		return newFlockBackend(cfg, dir)
	}
	return newLeaseBackend(cfg, dir)
}

// backend returns the backend takes go to now.
func (t *Table) backend() backend { return t.be.Load().be }

// current returns the backend to take a lock with: the one takes went
// to, unless its directory is found no longer the one at the table's
// path (see lockDir.check), when the directory at the path is opened
// afresh. Off NFS the path is looked at once per VerifyAfter here: an
// lstat of a cached name, no I/O. On NFS a look may be a round trip,
// which a take does not pay: there a Verify's check, paid at most once
// per VerifyAfter anyway, or a take failing on the removed directory
// (tryOS) finds it.
func (t *Table) current() (backend, error) {
	be := t.backend()
	d := be.lockDir()
	if d == nil {
		return be, nil // a test's, in no directory
	}
	if d.gone() == nil && (d.onNFS() || !d.due(t.cfg.VerifyAfter)) {
		return be, nil
	}
	if err := d.check(); !errors.Is(err, ErrLockLost) {
		// Still the table's directory, or a look that failed, which
		// says nothing: takes stay where they were.
		return be, nil
	}
	return t.reopen(be)
}

// tryOS makes one attempt at file's OS lock, in the directory at the
// table's path (see current). A take that meets its directory removed
// (a file created in it fails with ENOENT, or ESTALE on NFS) looks at the
// path at once and, the directory gone, takes in the one made anew there;
// one that raced with a reopen (granted in the directory found replaced
// meanwhile, or refused by the backend closed under it) takes again in
// the new one. A take whose every attempt was granted in a directory
// found replaced fails with ErrLockLost.
func (t *Table) tryOS(file string) (l osLock, at mono, err error) {
	for range 3 {
		var be backend
		if be, err = t.current(); err != nil {
			return nil, 0, err
		}
		l, at, err = be.try(file)
		d := be.lockDir()
		switch {
		case d == nil:
		case l != nil && d.gone() != nil:
			// Released: were this the last attempt, the lock returned
			// would be one no longer held.
			gone := d.gone()
			if uerr := l.unlock(); uerr != nil {
				gone = fmt.Errorf("%w (and releasing it failed: %w)", gone, uerr)
			}
			l, at, err = nil, 0, fmt.Errorf("lock %s: %w", d.join(file), gone)
			continue
		case err == ErrClosed && t.backend() != be:
			continue
		case err != nil && (errors.Is(err, fs.ErrNotExist) || isStale(err)) && errors.Is(d.check(), ErrLockLost):
			continue
		}
		return l, at, err
	}
	return l, at, err
}

// reopen replaces old, whose directory is no longer the one at the
// table's path, with a backend in the directory there, probed, opened
// and agreed on as NewTable does: the strategy of the table, which the
// directory may record, or must accept. The locks held through old stay
// with it (they are lost: see lockDir.gone), and its kept descriptors
// are closed, each as it is released.
//
// A reopen that found the directory one this table cannot lock in (see
// lastingReopenErr: a strategy mismatch, which lasts until the process
// restarts, or one it may not write in) is not tried again for VerifyAfter: the takes meanwhile fail
// with its error at once. Every take probed the directory afresh: an
// open, a read of its StrategyFile, a probe file created and removed
// (on NFS, round trips and a write each), for a failure it had met
// already. One that failed otherwise (out of descriptors, an interrupted
// or refused call, a stale handle, an I/O error) says nothing lasting of
// the directory, and is tried again at the next take, as the take's own
// open would be: cached, a moment's EMFILE failed every take for
// VerifyAfter. So is a path that names nothing, or no directory, which
// fails at its open: a directory made there is used at once.
func (t *Table) reopen(old backend) (backend, error) {
	t.reopenMu.Lock()
	defer t.reopenMu.Unlock()
	if be := t.backend(); be != old {
		return be, nil // another goroutine reopened it
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("lock %s: %w", t.cfg.Dir, ErrClosed)
	}
	if t.reopenErr != nil && monoNow().sub(t.reopenAt) < t.cfg.VerifyAfter {
		return nil, t.reopenErr
	}
	t.reopenErr = nil
	// The path as NewTable anchored it: a relative Dir names what it
	// named then, whatever the working directory is now.
	path := old.lockDir().path
	t.reopenTries++
	dir, err := openLockDir(path)
	if err != nil {
		return nil, fmt.Errorf("lock: the lock directory %s was removed or replaced since this process opened it, and opening it afresh failed: %w", path, err)
	}
	be, err := t.reopenDir(old, path, dir)
	if err != nil {
		if lastingReopenErr(err) {
			t.reopenErr, t.reopenAt = err, monoNow()
		}
		return nil, err
	}
	return be, nil
}

// lastingReopenErr reports whether err, a reopen's, says that the table
// cannot lock in the directory now at its path until someone acts: its
// processes (or its mount) call for the other strategy
// (ErrStrategyMismatch), no strategy works there (ErrNotSupported: a
// forced Flock on a mount with local_lock), a file in it is one this
// package will not use (ErrNotLockFile: a symlink at StrategyFile, say),
// or this process may not write there (a directory made by another user
// or with the wrong mode, a read-only mount: until a chmod, chown or
// remount). Those were tried again at every take, each an open, a read
// of StrategyFile and a probe file refused (on NFS, round trips each).
func lastingReopenErr(err error) bool {
	return errors.Is(err, ErrStrategyMismatch) || errors.Is(err, ErrNotSupported) || errors.Is(err, ErrNotLockFile) ||
		errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// reopenDir is reopen's probe of dir, opened at path, and its backend
// there. t.reopenMu must be held.
func (t *Table) reopenDir(old backend, path string, dir *lockDir) (backend, error) {
	// The directory now at the path may be on another file system (a
	// mount made there, a bind mount of another directory), whose mount
	// the strategy rests on as much as on the probes: a FUSE mount,
	// where flock reaches this host alone (Auto picks Lease there), or
	// an NFS mount with local_lock. Probed as NewTable probes it; the
	// table's old findings took flock there for the strategy agreed on,
	// and recorded it for every later process.
	cfg := t.cfg
	cfg.Dir, cfg.nfs, cfg.fuse, cfg.efs, cfg.exported = path, false, false, false, ""
	localOnly, err := probeMount(&cfg)
	if err != nil {
		dir.close()
		return nil, fmt.Errorf("lock: the lock directory %s was replaced since this process opened it, and opening it afresh failed: %w", path, err)
	}
	// Agreed on with the strategy the table was configured with, as a
	// process that opens the directory now agrees on it: with Auto, one
	// that records nothing (made by an earlier version's Open) and holds
	// the lease files of that version's processes is joined with leases,
	// which forcing the table's strategy would have missed, taking flocks
	// beside their leases and recording flock there for every later Auto
	// process. A table cannot change its strategy: one that the
	// directory calls for now is a mismatch.
	s, err := agreeStrategy(&cfg, dir, localOnly)
	if err == nil && s != t.strategy {
		// Why the directory calls for s: its processes, or its mount,
		// where no other process may lock yet.
		why := fmt.Sprintf("the processes that lock there now use %s", s)
		switch {
		case localOnly != "":
			why = fmt.Sprintf("it is on an NFS mount with local_lock=%s, where flock does not exclude other hosts, so the processes there lock with %s", localOnly, s)
		case cfg.fuse && s == Lease:
			why = "it is on a FUSE mount, where flock may exclude this host's processes alone, so the processes there lock with lease"
		}
		err = fmt.Errorf("%w: %s, and this process locks with %s; restart it to join them", ErrStrategyMismatch, why, t.strategy)
	}
	if err != nil {
		dir.close()
		return nil, fmt.Errorf("lock: the lock directory %s was replaced since this process opened it, and opening it afresh failed: %w", path, err)
	}
	// With the new mount's findings: on NFS or not (how a lock is
	// verified, and whether a take looks at the path), exported by this
	// host's NFS server or not, on EFS or not (the default MaxHeld: a
	// directory moved to EFS kept the local cap of 1024, four times
	// what EFS lets a mount lock), on FUSE or not (FlockOnFUSE).
	// MaxOpen rests on the descriptor limit alone, not on the mount: as
	// NewTable set it, which MaxOpen reports.
	cfg.MaxHeld = t.maxHeldAsked
	cfg.setLimits()
	cfg.MaxOpen = t.cfg.MaxOpen
	be := newBackend(&cfg, t.strategy, dir)
	t.be.Store(newBackendRef(be, &cfg))
	t.mu.Lock()
	t.retired = append(t.retired, old)
	t.mu.Unlock()
	old.close()
	return be, nil
}

// usable fails a call on a nil *Table, on a Table{} not made by NewTable
// or with a nil Context, where it panicked: a Table{}'s Lock did so
// holding the table's mutex, so that every later call hung.
func (t *Table) usable(ctx context.Context) error {
	switch {
	case t == nil:
		return errors.New("lock: nil *lock.Table (did NewTable fail?)")
	case t.be.Load() == nil:
		return errors.New("lock: lock.Table not made by NewTable")
	case ctx == nil:
		return errNilContext
	}
	return nil
}

// errNilContext fails a call given a nil Context, where it would panic.
var errNilContext = errors.New("lock: nil context.Context")

// Strategy reports the strategy in use (never Auto, but on a nil *Table
// or one not made by NewTable).
func (t *Table) Strategy() Strategy {
	if t == nil {
		return Auto
	}
	return t.strategy
}

// FlockOnFUSE reports that the table locks with flock on a FUSE mount. The
// kernel grants flock there on this host alone when the filesystem does
// not forward locks (sshfs, s3fs, rclone, bindfs): every host may then
// hold the same lock. Auto picks Lease on FUSE mounts, but keeps flock in
// a directory whose StrategyFile records it, or that holds flock lock
// files and records nothing (an earlier version's processes may be
// locking there), and lock files are never removed: such a store stays on
// flock until it is moved (stop every process, remove StrategyFile, and
// force Lease once). Callers warn about it. A table that forces Flock
// (Config.Strategy) is not reported: a filesystem that forwards locks
// (GlusterFS, ceph-fuse, JuiceFS) is meant to.
func (t *Table) FlockOnFUSE() bool {
	if t == nil {
		return false
	}
	return t.strategy == Flock && t.be.Load().fuse && t.cfg.Strategy != Flock
}

// Dir returns the directory that holds the lock files.
func (t *Table) Dir() string {
	if t == nil {
		return ""
	}
	return t.cfg.Dir
}

// MaxHeld reports the cap on OS locks this Table holds at once, after
// defaults, AWS EFS detection and the file-descriptor limit were applied:
// to the directory at Config.Dir now, once the table has found it
// replaced (see the package documentation, Lost locks).
func (t *Table) MaxHeld() int {
	if t == nil || t.be.Load() == nil {
		return 0
	}
	return t.be.Load().maxHeld
}

// maxHeld is MaxHeld of a table made by NewTable.
func (t *Table) maxHeld() int { return t.be.Load().maxHeld }

// MaxOpen reports the bound on lock descriptors kept open, after defaults
// and the file-descriptor limit were applied.
func (t *Table) MaxOpen() int {
	if t == nil {
		return 0
	}
	return t.cfg.MaxOpen
}

// EFS reports whether the directory is treated as AWS EFS (detected from the
// mount, or set with Config.EFS), which lowers the default MaxHeld. Like
// MaxHeld and FlockOnFUSE, it is of the directory at Config.Dir now.
func (t *Table) EFS() bool {
	if t == nil || t.be.Load() == nil {
		return false
	}
	return t.be.Load().efs
}

// Stats is a snapshot of a Table's use, for metrics and tests.
type Stats struct {
	Held    int // OS locks held (lock files locked by this process)
	Waiting int // lock requests that do not hold their key yet
	Open    int // lock descriptors kept open, held or idle
}

// Stats returns the Table's current use: none for a nil *Table or one
// not made by NewTable (a metrics collector registered before its table
// was made, say).
func (t *Table) Stats() Stats {
	if t.usable(context.Background()) != nil {
		return Stats{}
	}
	t.mu.Lock()
	st := Stats{Held: t.held}
	for _, f := range t.files {
		st.Waiting += f.waiters
	}
	retired := slices.Clone(t.retired)
	t.mu.Unlock()
	st.Open = t.backend().openFiles()
	// The descriptors of locks held in a directory found replaced stay
	// open until their holders unlock (see reopen): counted, or Open
	// undercounted what the process holds open. A retired backend with
	// none left open opens no more (it is closed), and is dropped.
	var done []backend
	for _, be := range retired {
		if n := be.openFiles(); n > 0 {
			st.Open += n
		} else {
			done = append(done, be)
		}
	}
	if len(done) > 0 {
		t.mu.Lock()
		t.retired = slices.DeleteFunc(t.retired, func(be backend) bool { return slices.Contains(done, be) })
		t.mu.Unlock()
	}
	return st
}

// CloseIdle closes every kept lock descriptor that holds no lock and
// reports how many it closed. Callers that hit EMFILE or ENFILE elsewhere
// may call it before retrying: kept descriptors are only a cache (each
// saves two round trips on NFS the next time its lock is taken). A nil
// *Table, or one not made by NewTable, has none to close.
func (t *Table) CloseIdle() int {
	if t.usable(context.Background()) != nil {
		return 0
	}
	return t.backend().evictIdle(0)
}

// Close releases the kept-open lock descriptors. Locks still held stay held
// until their handles are unlocked, which then closes their descriptors;
// new acquisitions fail with ErrClosed.
func (t *Table) Close() error {
	if err := t.usable(context.Background()); err != nil {
		return err
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	// Wake the waiters so they fail with ErrClosed.
	for _, f := range t.files {
		f.wakeAll()
	}
	t.mu.Unlock()
	// After a reopen in flight, which a closed table makes no more.
	t.reopenMu.Lock()
	be := t.backend()
	t.reopenMu.Unlock()
	return be.close()
}

// Lock acquires key in mode, backed by the lock file named file, waiting
// until it is free or ctx ends. When ctx ends first the error matches both
// ErrLocked and ctx.Err(). A key free at the first attempt is taken even
// with ctx ended already (a timeout of 0 or less), as TryLock takes it:
// only a wait gives up. When this process already holds MaxHeld OS locks
// and file's is not among them, it fails at once with ErrTooManyLocks.
//
// Goroutines of the process that wait for a key get it in the order in
// which they came, a run of Shared ones together; a Shared Lock does not
// pass an Exclusive one queued before it. A Lock or TryLock that comes
// while any wait for the key, the last holder's own next one included,
// queues behind them (TryLock fails with ErrLocked, and wakes nobody),
// so a goroutine that locks a key again and again cannot keep it from
// those waiting. An Unlock wakes only the waiters it lets go on, and a
// waiter whose context ends leaves its place to the next. The order
// holds within the process: another process or host takes the lock
// file when it finds it free at a poll, in no order. So that it gets its
// turn, a process that has kept a lock file for 100 ms (its goroutines
// handing it on among themselves, or taking it again at once), holding it
// at least half that time, leaves it free at its next release for a pause
// of 20 ms, in which a waiter elsewhere polls at least once.
//
// In the pause in which the process leaves a lock file it kept busy to
// other hosts (at most 20 ms), Lock waits for the pause to end, also
// when a TryLock of the process took the file's OS lock in it: it does
// not share that lock, nor have it handed over, before the pause ends.
func (t *Table) Lock(ctx context.Context, file, key string, mode Mode) (*Handle, error) {
	return t.acquire(ctx, file, key, mode, true)
}

// TryLock acquires key in mode if it is free now, and returns an error
// matching ErrLocked otherwise (ErrTooManyLocks when the cap is reached).
// In the pause in which the process leaves a lock file it kept busy to
// other hosts, it fails while goroutines of the process wait to take the
// lock after the pause, and takes it otherwise: a lock that is free is
// free to TryLock, and callers that skip what is busy (a sweep) would
// skip it for nothing. A lock so taken is not passed on to the
// process's Lock callers inside the pause (see Lock): its last Unlock
// there releases it, leaving the rest of the pause to other hosts.
func (t *Table) TryLock(file, key string, mode Mode) (*Handle, error) {
	return t.acquire(context.Background(), file, key, mode, false)
}

// TryLockContext is TryLock for a caller that runs it on a goroutine of
// its own, so as to give up on a server that does not answer, and says so
// with an opwatch.Op in ctx, as for Lock: its call into the OS is then
// marked on it, and a lock the server granted is recorded as its answer.
// ctx's end does not cut it short: it does not wait.
func (t *Table) TryLockContext(ctx context.Context, file, key string, mode Mode) (*Handle, error) {
	return t.acquire(ctx, file, key, mode, false)
}

func (t *Table) acquire(ctx context.Context, file, key string, mode Mode, block bool) (*Handle, error) {
	if err := t.usable(ctx); err != nil {
		return nil, err
	}
	if why := nameProblem(file); why != "" {
		return nil, fmt.Errorf("%w %q: %s", ErrInvalidName, file, why)
	}
	if key == "" {
		return nil, fmt.Errorf("lock %s: empty key", t.path(file))
	}
	if mode != Exclusive && mode != Shared {
		return nil, fmt.Errorf("lock: invalid mode %d", mode)
	}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, t.closedErr(file)
	}
	f := t.files[file]
	if f == nil {
		f = newFileState()
		t.files[file] = f
	}
	ks := f.key(key)
	f.waiters++
	ks.waiters++
	// me: this caller's place in ks's queue, once it waits.
	var me *waiter
	// waited: this caller has waited already (in this process, for
	// another key's holder or taker), so a poll refused a slot of its
	// bound is no longer its first attempt (see acquireOS).
	waited := false
	// checked: the OS lock this caller found not lost, which it may
	// share without asking again until it waits: a lock kept for it by
	// an Unlock may be found lost by the backend (a lease's renewal)
	// while it waits, with no holder left to record it (lostOS).
	var checked osLock
	for {
		if t.closed {
			// Closed while we waited. An Unlock may have kept the OS
			// lock for the waiters: with none left, no handle owns it
			// and nothing else would ever release it.
			t.giveUp(f, ks, me)
			var err error
			if f.os != nil && f.refs == 0 && f.waiters == 0 {
				w := opwatch.FromContext(ctx)
				w.EnterAlways()
				err = t.releaseOS(f, w)
				w.Exit()
			}
			t.forget(file, f)
			t.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("%w (and releasing the lock kept for waiters failed: %w)", t.closedErr(file), err)
			}
			return nil, t.closedErr(file)
		}
		// Free to this caller: its holders admit it, and nobody queued
		// before it (see keyState.queue).
		free := (ks.holders == 0 || mode == Shared && ks.mode == Shared) && ks.turn(me, mode)
		// pauseLeft: the rest of the pause this caller waits out with
		// the file's OS lock held by a TryLock (see below).
		var pauseLeft time.Duration
		switch {
		case free && f.os != nil && f.lostOS && f.refs > 0:
			t.giveUp(f, ks, me)
			t.forget(file, f)
			t.mu.Unlock()
			// Both: the file is busy to this caller as to any other
			// (a sweep skips it), and the reason is a lost lock.
			return nil, fmt.Errorf("lock %s: %w: %w: this process's lock on the file was lost, and is taken afresh once its holders let go", t.path(file), ErrLocked, ErrLockLost)
		case free && f.os != nil && f.lostOS:
			// Kept for the waiters by an Unlock, and found lost before
			// one of them came to share it: nobody holds it, so nobody
			// here is waited for. This caller releases it and takes the
			// lock afresh, under its own context (another host may hold
			// it now, or the lease that ran out unrenewed is left to
			// breakers for the grace period); it failed with
			// ErrLockLost, and a request that came after the Unlock
			// took the lock at once. The release may hang like any
			// other, and is marked for the caller's bound as the other
			// releases a wait makes. Its error is the loss, known.
			w := opwatch.FromContext(ctx)
			w.EnterAlways()
			t.endTurn(f, w, true, false)
			w.Exit()
			continue
		case free && f.os != nil && !block && f.waiters > 1 && f.paused():
			// Another TryLock took the OS lock in the pause, and
			// goroutines of the process wait to take it after the pause:
			// it fails, as on the lock left free (below). Shared, the
			// lock stayed held past the first TryLock's Unlock, and a
			// chain of them left nothing of the pause to waiters
			// elsewhere.
			t.giveUp(f, ks, me)
			t.forget(file, f)
			t.mu.Unlock()
			return nil, fmt.Errorf("lock %s: %w", t.path(file), ErrLocked)
		case free && f.os != nil && block && f.paused():
			// A TryLock took the OS lock in the pause after a release
			// for other hosts' sake (only a TryLock takes it there). A
			// Lock caller waits out the pause as it would with the lock
			// free: sharing it, or having it handed over at the
			// TryLock's Unlock, left nothing of the pause to waiters
			// elsewhere. It waits for the pause to end, not for the
			// TryLock's holders, which may include its own goroutine.
			pauseLeft = f.yieldUntil.sub(monoNow())
		case free && f.os != nil && f.os != checked:
			// The process holds the file's OS lock (for other keys, or
			// kept for a waiter), which the backend may have found lost
			// on its own (a lease's renewal) with no holder recorded
			// yet (lostOS). Asked before it is shared, and outside
			// t.mu, as every osLock call is; the state is then looked
			// at afresh: a lost lock with holders fails this caller, a
			// lost one kept for waiters is taken afresh (above).
			l := f.os
			t.mu.Unlock()
			lost := l.lost()
			t.mu.Lock()
			checked = l
			if lost && f.os == l {
				f.lostOS = true
			}
			continue
		case free && f.os != nil:
			// Found not lost just now: share it.
			t.grant(f, ks, me, mode)
			l := f.os
			t.mu.Unlock()
			return &Handle{t: t, file: file, key: key, f: f, ks: ks, os: l, mode: mode}, nil

		case free && f.os == nil && !f.busy && !block && f.waiters > 1 && f.paused():
			// Released for other hosts' sake, with goroutines of this
			// process waiting to take it after the pause: the first of
			// them keeps the file busy while it sleeps it out, and
			// fails a TryLock meanwhile; this one came in the instant
			// before it woke up (see TryLock).
			t.giveUp(f, ks, me)
			t.forget(file, f)
			t.mu.Unlock()
			return nil, fmt.Errorf("lock %s: %w", t.path(file), ErrLocked)
		case free && f.os == nil && !f.busy:
			f.busy = true
			var yield time.Duration
			if f.yieldUntil != 0 {
				// Most takes come with no pause set (see below): no reading.
				yield = f.yieldUntil.sub(monoNow())
			}
			t.mu.Unlock()
			l, now, err := t.acquireOS(ctx, file, block, waited, yield)
			t.mu.Lock()
			f.busy = false
			if err != nil {
				t.giveUp(f, ks, me)
				f.wakeHeads()
				t.forget(file, f)
				t.mu.Unlock()
				return nil, err
			}
			// The backend's reading as it took the lock is the take's:
			// each reading costs about as much as the rest of this
			// bookkeeping.
			if f.released != 0 && now.sub(f.released) < retakeWithin {
				// Taken again at once: the same tenure (see retakeWithin).
				// Timed to the take, not to the call: one that waited
				// for an owner elsewhere is a new tenure, unless that
				// owner's turn was shorter than retakeWithin.
			} else {
				f.taken, f.heldBefore = now, 0
			}
			f.os, f.released, f.heldFrom = l, 0, now
			if f.yieldUntil <= now {
				// The pause is over: forgotten, the next take on the
				// file, until another pause, reads no clock for it.
				f.yieldUntil = 0
			}
			t.grant(f, ks, me, mode)
			// Keys whose waiters waited for the take share it now.
			f.wakeHeads()
			t.mu.Unlock()
			return &Handle{t: t, file: file, key: key, f: f, ks: ks, os: l, mode: mode}, nil
		}

		// The key is held in this process, or another goroutine is taking
		// or releasing the file's OS lock, or the pause goes on: wait here.
		if !block {
			t.giveUp(f, ks, me)
			t.forget(file, f)
			t.mu.Unlock()
			return nil, fmt.Errorf("lock %s: %w", t.path(file), ErrLocked)
		}
		if me == nil {
			me = t.newWaiter(mode)
			ks.queue = append(ks.queue, me)
		}
		t.mu.Unlock()
		// pauseEnds wakes a caller waiting out a pause when nothing
		// else changes meanwhile.
		var pauseEnds <-chan time.Time
		if pauseLeft > 0 {
			pauseEnds = time.After(pauseLeft)
		}
		select {
		case <-me.ready:
			opwatch.FromContext(ctx).RunHook("lock-woken") // tests
			t.mu.Lock()
			me.woken = false
		case <-pauseEnds:
			t.mu.Lock()
		case <-ctx.Done():
			w := opwatch.FromContext(ctx)
			w.RunHook("lock-give-up")
			t.mu.Lock()
			t.giveUp(f, ks, me)
			var err error
			if f.os != nil && f.refs == 0 && f.waiters == 0 {
				// The OS lock was kept for waiters that all gave up: the
				// turn ends as an Unlock's would, or waiters giving up on
				// a busy file would keep starting its tenure afresh.
				w.EnterAlways()
				_, err = t.endTurn(f, w, false, false)
				w.Exit()
			}
			t.forget(file, f)
			t.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("%w (and releasing the unused lock failed: %v)", &waitError{path: t.path(file), err: ctx.Err()}, err)
			}
			return nil, &waitError{path: t.path(file), err: ctx.Err()}
		}
		waited, checked = true, nil
	}
}

func (t *Table) path(file string) string { return filepath.Join(t.cfg.Dir, file) }

// closedErr is ErrClosed for a lock on file asked of the closed table,
// naming its path: a process may close several stores' tables at once.
func (t *Table) closedErr(file string) error {
	return fmt.Errorf("lock %s: %w", t.path(file), ErrClosed)
}

// grant makes the caller a holder of ks under f's OS lock and ends its
// waiter registration, taking it off the queue (me; nil for a caller not
// queued). A Shared grant wakes the Shared waiters queued after it, up to
// an Exclusive one: they may share the key now (those that came while it
// was passed on were not woken by that Unlock). t.mu must be held.
func (t *Table) grant(f *fileState, ks *keyState, me *waiter, mode Mode) {
	f.refs++
	ks.holders++
	ks.mode = mode
	if me != nil {
		ks.dequeue(me)
		t.putWaiter(me)
	}
	t.leave(f, ks)
	if mode == Shared {
		f.wakeNext(ks)
	}
}

// leave undoes the waiter registration of acquire. t.mu must be held.
func (t *Table) leave(f *fileState, ks *keyState) {
	f.waiters--
	ks.waiters--
	f.dropKey(ks)
}

// giveUp is leave for a caller that does not take the lock, taking it
// off the queue (me; nil for a caller not queued). A queued one wakes
// those whose turn it is now: the key may have been passed on to it,
// and a Shared waiter queued behind an Exclusive one that gives up may
// share the key with its Shared holders. A caller not queued (a TryLock)
// changes nobody's turn, and wakes nobody. t.mu must be held.
func (t *Table) giveUp(f *fileState, ks *keyState, me *waiter) {
	if me != nil {
		ks.dequeue(me)
		t.putWaiter(me)
	}
	t.leave(f, ks)
	if me != nil {
		f.wakeNext(ks)
	}
}

// forget drops a file state nobody uses, so memory does not grow with the
// number of files ever locked. A state whose tenure still matters (live:
// a retake would continue it, or the pause has not ended) stays, unused,
// until the map has doubled since states were last dropped; then every
// unused one whose tenure no longer matters goes, so that the map holds
// the files in use plus about those released within the last
// retakeWithin or yieldAfterHandoffs, at an amortised constant cost.
// Keeping the state itself, rather than a copy of its tenure elsewhere,
// spares the lock and unlock of one session request after request (the
// common case: a retake within microseconds) a state allocated and two
// maps written and deleted from on every turn. t.mu must be held.
func (t *Table) forget(file string, f *fileState) {
	if f.unused() && t.files[file] == f {
		t.forgetAt(file, f, monoNow())
	}
}

// forgetAt is forget of an unused state at now, for a caller that has
// just read the clock.
func (t *Table) forgetAt(file string, f *fileState, now mono) {
	if !f.live(now) {
		delete(t.files, file)
		return
	}
	if len(t.files) < max(t.idlePrune, 64) {
		return
	}
	for k, g := range t.files {
		if g.unused() && !g.live(now) {
			delete(t.files, k)
		}
	}
	t.idlePrune = 2 * len(t.files)
}

// acquireOS takes the OS lock on file, polling with backoff while another
// owner holds it. Blocking lock calls cannot honour a context (flock(2) only
// returns early on a signal), hence the polling. Waiting takes no MaxHeld
// slot: the cap is checked before each attempt (so a full table fails the
// first one fast, and makes a later one count as finding the lock held)
// and a slot is taken only once the lock is ours.
//
// A caller that runs Lock on a goroutine of its own, so as to give up on a
// server that does not answer, says so with an opwatch.Op in ctx: each
// attempt is then marked as a call into the OS, and none is started once
// the caller has given up. An attempt refused a slot of the caller's bound
// fails the caller if it is its first (the operation cannot start) and
// counts as finding the lock held if the caller has waited already: in an
// earlier poll, or in this process (waited). Such a poll may fill only part
// of the bound (opwatch.Op.EnterPoll), so that waiters never leave the
// holders of other locks without a slot.
//
// A blocking caller sleeps for yield first: the file's OS lock was just
// released for waiters on other hosts (see yieldAfterHandoffs).
func (t *Table) acquireOS(ctx context.Context, file string, block, waited bool, yield time.Duration) (osLock, mono, error) {
	w := opwatch.FromContext(ctx)
	if block && yield > 0 {
		if err := sleepCtx(ctx, yield); err != nil {
			return nil, 0, &waitError{path: t.path(file), err: err}
		}
	}
	var d time.Duration
	for tried := waited; ; tried = true {
		var (
			l  osLock
			at mono // when l was granted
		)
		// A full table fails the first attempt at once; a caller that has
		// waited already keeps waiting, as for a held lock, until a slot
		// frees or its context ends: ErrTooManyLocks is an answer given
		// at once, never after a wait (see ErrTooManyLocks).
		full, closed := t.slotFree(file)
		if closed {
			// Close wakes only the waiters queued in this process; a
			// poller of a lock held elsewhere stops here, at its next
			// attempt, whatever the backend would still allow (a Lease
			// table's directory stays open while it holds any lease).
			return nil, 0, t.closedErr(file)
		}
		if full != nil && (!block || !tried) {
			return nil, 0, full
		}
		// A poll after the first attempt may be put off (Requeue), so it
		// leaves room in the caller's bound for calls that may not.
		entered := false
		if full == nil {
			if block && tried {
				entered = w.EnterPoll()
			} else {
				entered = w.Enter()
			}
		}
		switch {
		case full != nil:
			// Counted as an attempt that found the lock held.
			w.RunHook("lock-table-full") // tests
		case entered:
			w.RunHook("lock")
			var err error
			l, at, err = t.tryOS(file)
			if l != nil {
				// Granted: on NFS by the server. A refusal may come from
				// the client alone (the NFS client refuses a lock that
				// another process on this host holds without asking).
				w.Answered()
			}
			w.Exit()
			if l == nil && err == nil {
				// Found held: the calls from now on poll (see
				// opwatch.Op.Poll). Not before: a first attempt that
				// hangs says the server does not answer.
				w.Poll()
			}
			if !tried {
				w.RunHook("lock-first-done") // tests: what follows are polls
			}
			if errors.Is(err, ErrTooManyLocks) && block && tried {
				// The server refused another lock (ENOLCK) while this
				// caller waited: as for a full table, it keeps waiting;
				// ErrTooManyLocks is an answer given at once.
				err = nil
			}
			if err != nil {
				return nil, 0, err
			}
		case !block || !tried || !w.Requeue():
			// Given up on, or refused a slot at the first attempt: the
			// operation could not start, and says so at once.
			return nil, 0, &waitError{path: t.path(file), err: abandonedErr(ctx)}
		default:
			// Refused a slot while waiting for another owner: other
			// waiters' polls fill the caller's bound for a moment. This
			// attempt counts as one that found the lock held.
			w.RunHook("lock-requeue")
		}
		if l != nil {
			t.mu.Lock()
			if t.closed && tried {
				// Closed while this caller waited: no lock is taken on a
				// closed table after a wait (see Close).
				t.mu.Unlock()
				w.EnterAlways()
				l.unlock()
				w.Exit()
				return nil, 0, t.closedErr(file)
			}
			if t.held < t.maxHeld() {
				t.held++
				t.mu.Unlock()
				return l, at, nil
			}
			// Others filled the table during our attempt.
			t.mu.Unlock()
			w.EnterAlways()
			l.unlock()
			w.Exit()
			if !block || !tried {
				return nil, 0, t.tooMany(file)
			}
		}
		if !block {
			return nil, 0, fmt.Errorf("lock %s: %w", t.path(file), ErrLocked)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, &waitError{path: t.path(file), err: err}
		}
		d = backoff(d, maxPoll)
		// Jitter keeps waiters on different hosts from polling in step.
		if err := sleepCtx(ctx, d/2+rand.N(d/2+1)); err != nil {
			return nil, 0, &waitError{path: t.path(file), err: err}
		}
	}
}

// abandonedErr is the error of an attempt its caller gave up on: the
// context's, or a deadline (the caller's own ceiling) when it has none.
func abandonedErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

func (t *Table) slotFree(file string) (full error, closed bool) {
	t.mu.Lock()
	isFull, closed := t.held >= t.maxHeld(), t.closed
	t.mu.Unlock()
	if isFull {
		return t.tooMany(file), closed
	}
	return nil, closed
}

func (t *Table) tooMany(file string) error {
	ref := t.be.Load()
	where := ""
	if ref.efs {
		where = "; AWS EFS lets a mount lock at most 256 file-process pairs, shared by every process using it"
	}
	return fmt.Errorf("lock %s: %w: this process already holds its cap of %d OS locks (MaxHeld%s)", t.path(file), ErrTooManyLocks, ref.maxHeld, where)
}

// releaseOS releases the file's OS lock. t.mu must be held; it is dropped
// during the unlock call (a round trip on NFS) and held again on return.
// Meanwhile the file is busy with no OS lock: a goroutine that comes for
// it waits for the release to end, then takes a new OS lock, so it neither
// shares the one being released nor skips taking one.
//
// w, when not nil, is the operation the release is made for.
func (t *Table) releaseOS(f *fileState, w *opwatch.Op) error {
	l := f.os
	f.os, f.busy, f.lostOS = nil, true, false
	t.mu.Unlock()
	w.RunHook("unlock")
	err := l.unlock()
	t.mu.Lock()
	t.held--
	f.busy = false
	f.wakeHeads()
	return err
}

// Handle is one holder's share of a lock. Unlock it exactly once.
type Handle struct {
	t    *Table
	file string
	key  string
	f    *fileState
	ks   *keyState // may be reused for another key once this handle is unlocked
	os   osLock    // f.os, which stays the same while this handle holds it
	mode Mode

	mu       sync.Mutex
	released bool
}

// Mode reports the mode the key is held in. Mode, Name and Key of a nil
// *Handle (a Lock's result read before its error was checked, as by a
// deferred log line) return zero values, where they panicked.
func (h *Handle) Mode() Mode {
	if h == nil {
		return Exclusive
	}
	return h.mode
}

// Name returns the lock file's name within its Table's directory.
func (h *Handle) Name() string {
	if h == nil {
		return ""
	}
	return h.file
}

// Key returns the locked key.
func (h *Handle) Key() string {
	if h == nil {
		return ""
	}
	return h.key
}

// Verify reports ErrLockLost when the lock has been taken away (see the
// package documentation). Call it before publishing work done under the lock.
// On local filesystems it costs at most an fstat, no I/O, once the lock
// has gone unchecked longer than Config.VerifyAfter (a Flock lock whose
// file was removed or replaced is lost); on NFS it costs one round trip
// when the file's OS lock has gone unconfirmed that long. A Lease is read
// back at every call (an open and a read of its file), unless it has run
// out by this host's clock, which makes it lost without a read. Either
// also looks at the lock directory's name at most once per VerifyAfter:
// a lock taken in a directory moved away, removed or replaced since (see
// the package documentation, Lost locks) is lost. An error
// that does not match ErrLockLost (the file server failed the check) says
// nothing of the lock: publish nothing on it, and the next Verify asks
// again.
func (h *Handle) Verify() error {
	if err := h.usable(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return fmt.Errorf("lock %s: verify after unlock: %w", h.t.path(h.file), ErrLockLost)
	}
	err := h.os.verify()
	if errors.Is(err, ErrLockLost) {
		h.t.mu.Lock()
		h.f.lostOS = true // h holds f.os, which stays the same meanwhile
		h.t.mu.Unlock()
	}
	return err
}

// Unlock releases this holder's share. Calling it again does nothing. An
// error means the OS reported a failure while releasing (on NFS after a lost
// lock, for example); the lock is released either way.
func (h *Handle) Unlock() error {
	if err := h.usable(); err != nil {
		return err
	}
	return h.unlock(nil)
}

// usable fails Verify and Unlock of a nil *Handle (a Lock's result used
// before its error was checked, as by a defer of Unlock written first) or
// a Handle{} no Table made, where they panicked with a nil dereference, a
// deferred Unlock's hiding the Lock's error.
func (h *Handle) usable() error {
	switch {
	case h == nil:
		return errors.New("lock: nil *lock.Handle (did Lock fail?)")
	case h.t == nil:
		return errors.New("lock: lock.Handle not made by a Table")
	}
	return nil
}

// unlock is Unlock, its release of the OS lock, if it makes one, marked
// on w (see opwatch.Op.EnterAlways).
func (h *Handle) unlock(w *opwatch.Op) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return nil
	}
	h.released = true
	t, f, ks := h.t, h.f, h.ks
	// Asked before t.mu is taken, as every osLock call is.
	lost := h.os.lost()
	t.mu.Lock()
	defer t.mu.Unlock()
	ks.holders--
	f.refs--
	f.dropKey(ks)
	if lost {
		f.lostOS = true
	}
	if f.refs > 0 {
		f.wakeNext(ks)
		return nil
	}
	// Whether this process has served its turn is judged here only for
	// waiters, whom a lock not served is kept for; otherwise endTurn
	// judges it at its reading of the clock after the release, one
	// reading where there were two.
	judged, served := false, false
	if f.waiters > 0 {
		now := monoNow()
		judged, served = true, f.served(now)
		if !served && !f.lostOS && !t.closed && now >= f.yieldUntil {
			// Keep the OS lock for the waiters next in line. Not in
			// the pause for other hosts' sake (a TryLock's take): the
			// waiters wait it out, the lock free meanwhile.
			f.wakeHeads()
			return nil
		}
	}
	w.EnterAlways()
	now, err := t.endTurn(f, w, judged, served)
	w.Exit()
	if f.unused() && t.files[h.file] == f {
		t.forgetAt(h.file, f, now)
	}
	return err
}

// served reports whether this process has kept f's OS lock long enough
// (see minHandoffHold) that its next release leaves it to waiters
// elsewhere for a while. A tenure long held a small part of the time says
// nothing of what comes next: judged over its whole length, a busy stretch
// after it would keep waiters elsewhere out until it made up for the idle
// past, so past busyWindow such a tenure is judged afresh from now. t.mu
// must be held, with f's OS lock held and no handle on it.
func (f *fileState) served(now mono) bool {
	if now.sub(f.taken) >= busyWindow && !f.busyEnough(now) {
		f.taken, f.heldBefore, f.heldFrom = now, 0, now
	}
	return now.sub(f.taken) >= minHandoffHold && f.busyEnough(now)
}

// endTurn releases f's OS lock, which no handle holds any more, and
// records the release in its tenure, at now, the time it returns. Whether
// the process served its turn (served) is judged at now unless the caller
// judged it (judged).
// Released for waiters elsewhere once this process has had it long enough
// (served), whether its goroutines wait for it or come back for it (see
// retakeWithin), it is left alone for them to take it, from the moment it
// is free (on NFS the release is a round trip); the goroutines here can
// start no attempt before releaseOS returns. Otherwise a take within
// retakeWithin goes on with the tenure. t.mu must be held.
func (t *Table) endTurn(f *fileState, w *opwatch.Op, judged, served bool) (now mono, err error) {
	noPause := f.lostOS || t.closed // as before the release, which clears lostOS
	err = t.releaseOS(f, w)
	now = monoNow()
	if !judged {
		served = f.served(now)
	}
	if served && !noPause {
		// The tenure ends: a take after the pause starts a new one.
		f.yieldUntil, f.released = now.add(yieldAfterHandoffs), 0
	} else {
		f.released = now
		f.heldBefore += now.sub(f.heldFrom)
	}
	return now, err
}
