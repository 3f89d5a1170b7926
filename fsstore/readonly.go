package fsstore

import "fmt"

// A store whose mount turns read-only on one host (a file system the
// kernel remounted read-only after an I/O error, an NFS or EFS mount made
// ro by mistake) still answers the attribute fetch that Health makes, so
// Health alone would keep the host in the load balancer's rotation while
// every write there fails. The store therefore remembers a write refused
// as read-only, and while it does, Health tests a write itself (see
// Store.Health). Nothing is added to Health's answer while no write has
// been refused: it is polled every few seconds, and on NFS every call it
// makes is a round trip.
//
// Only a read-only file system counts. It is a property of the whole mount
// on this host, which taking the host out of rotation fixes for its users.
// A permission error (EACCES, EPERM) may be one file's or one shard
// directory's, and every host meets it alike: failing their health checks
// for it would take the whole fleet out of rotation for a fault that costs
// the sessions stored there only. A host whose user ID cannot write the
// store at all fails in Open's check instead (checkWritable).

// A ReadOnlyFSObserver is an Observer that also wants to know when the
// store finds its file system read-only on this host and when it finds it
// writable again (see Store.ReadOnlyFS), for a state to alert on: once a
// load balancer drains the host, no more writes reach it to fail, so a
// count of refused writes stops rising while the mount is still read-only.
// ObserveReadOnlyFS is called once per change, never twice in a row with
// the same value, starting from writable and, once the store is closed,
// ending writable: Close ends a finding it meets, so that a count kept
// from the calls drops a store that is no longer used, and nothing is
// reported after Close. The calls of one store are made one at a time, in
// the order of the changes, from the goroutine that made each; it must not
// block. A panic in it goes up that goroutine to the caller of the
// operation (or Close) that made the change, once made; on a goroutine of
// the store's own (Health's probe, a write finishing after its caller gave
// up) it is logged as an error with its stack (see Observer).
type ReadOnlyFSObserver interface {
	Observer
	ObserveReadOnlyFS(readOnly bool)
}

// ReadOnlyFS reports whether the store finds its file system read-only on
// this host: a write failed because it is (EROFS; on Windows, a
// write-protected volume) and no write has succeeded since: Health's test
// write, or a Save, CompareAndSwap or Touch begun after the refusal. Health fails meanwhile. A host
// drained by its readiness probe gets no writes, so there Health's test
// write ends the finding, at the first Health call after the mount turns
// writable. A closed store reports false. It makes no call to the file
// system.
func (s *Store) ReadOnlyFS() bool { return s.readOnly.Load() != 0 }

// noteReadOnly records a write refused because the file system is
// read-only on this host. Each finding gets a number of its own, so that a
// write that began before it (Health's test write, or any other, see end)
// cannot clear it.
//
// The change and its report are made under roMu: a ReadOnlyFSObserver keeps
// a gauge from the reports, and a clearing reported before the finding it
// cleared would leave the gauge at 1 on a writable store. A refused write
// waits for the lock only while another refused write or a clearing holds
// it, never on a healthy store.
//
// A write refused once Close has begun (one still in flight, or given up
// on and finishing late) is not noted: Close reports the end of the
// findings, and one noted after it would never be ended.
//
// own: called on a goroutine of the store's own (see onOwn), where a
// panic of the observer is logged rather than raised.
func (s *Store) noteReadOnly(err error, own bool) {
	s.roMu.Lock()
	defer s.roMu.Unlock()
	if s.closed.Load() {
		return
	}
	s.roSeq++
	if s.readOnly.Swap(s.roSeq) != 0 {
		return
	}
	s.cfg.logger.Warn("session store is read-only on this host: health checks fail until a write succeeds; check the mount and the kernel log, then remount read-write", "dir", s.dir, "err", err)
	s.reportReadOnly(true, own)
}

// clearReadOnly ends the finding seen as seq, unless another came since;
// own as for noteReadOnly.
func (s *Store) clearReadOnly(seq uint64, own bool) {
	s.roMu.Lock()
	defer s.roMu.Unlock()
	if !s.readOnly.CompareAndSwap(seq, 0) {
		return
	}
	s.cfg.logger.Info("session store no longer read-only on this host", "dir", s.dir)
	s.reportReadOnly(false, own)
}

// endReadOnly ends the finding for Close. Close marks the store closed
// before it, so under roMu nothing can note a finding after it; a test
// write under way then finds its finding gone and reports nothing.
func (s *Store) endReadOnly() {
	s.roMu.Lock()
	defer s.roMu.Unlock()
	if s.readOnly.Swap(0) == 0 {
		return
	}
	s.reportReadOnly(false, false)
}

// reportReadOnly tells the observer of a change of the finding; the
// caller holds roMu, so that the changes reach it in order. own: on a
// goroutine of the store's own, a panic in it is logged (onOwn); on the
// caller's, it goes up to the caller, roMu released and the change made.
func (s *Store) reportReadOnly(readOnly, own bool) {
	o, ok := s.cfg.observer.(ReadOnlyFSObserver)
	switch {
	case !ok:
	case own:
		s.onOwn(ownReadOnly, func() { o.ObserveReadOnlyFS(readOnly) }, "read_only", readOnly)
	default:
		o.ObserveReadOnlyFS(readOnly)
	}
}

// isReadOnly reports whether err is the OS refusing a write because the
// file system is read-only (EROFS; on Windows, a write-protected volume).
func isReadOnly(err error) bool {
	out, ok := osOutcome(err)
	return ok && out == OutcomeReadOnlyFS
}

// healthCheck is the check that one Health call at a time runs on a
// goroutine of its own: the server's answer to an attribute fetch, or,
// while a write was last refused as read-only, a test write. A test write
// that fails for another reason (a full disk) shows the file system
// writable again: the attribute fetch then answers as usual. cached
// reports an outcome that the client's attribute cache may have given,
// success or error (an attribute fetch where it is not forced past that
// cache, see fetchesFresh): no sign of the server's.
func (s *Store) healthCheck(hook func(string)) (cached bool, err error) {
	seq := s.readOnly.Load()
	if seq == 0 {
		return !s.fetchesFresh(), s.probeFS(hook)
	}
	if hook != nil {
		hook("probe")
	}
	err = s.writeProbe(false)
	if err != nil && isReadOnly(err) {
		return false, fmt.Errorf("its test write: %w", err)
	}
	s.clearReadOnly(seq, true) // on Health's probe goroutine
	if err != nil {
		return !s.fetchesFresh(), s.probeFS(nil)
	}
	if s.bnd != nil {
		s.bnd.slots.Answered()
	}
	return false, nil
}
