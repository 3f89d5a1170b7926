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

// noteReadOnly records a write refused because the file system is
// read-only on this host. Each finding gets a number of its own, so that a
// test write that began before it (Health's) cannot clear it.
func (s *Store) noteReadOnly(err error) {
	if s.readOnly.Swap(s.roSeq.Add(1)) == 0 {
		s.cfg.logger.Warn("session store is read-only on this host: health checks fail until a test write succeeds; check the mount and the kernel log, then remount read-write", "dir", s.dir, "err", err)
	}
}

// clearReadOnly ends the finding seen as seq, unless another came since.
func (s *Store) clearReadOnly(seq uint64) {
	if s.readOnly.CompareAndSwap(seq, 0) {
		s.cfg.logger.Info("session store no longer read-only on this host", "dir", s.dir)
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
// writable again: the attribute fetch then answers as usual.
func (s *Store) healthCheck(hook func(string)) error {
	seq := s.readOnly.Load()
	if seq == 0 {
		return s.probeFS(hook)
	}
	if hook != nil {
		hook("probe")
	}
	err := s.writeProbe()
	if err != nil && isReadOnly(err) {
		return fmt.Errorf("store not writable on this host: %w", err)
	}
	s.clearReadOnly(seq)
	if err != nil {
		return s.probeFS(nil)
	}
	if s.bnd != nil {
		s.bnd.slots.Answered()
	}
	return nil
}
