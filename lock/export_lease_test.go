package lock

import "time"

// SetLeaseJudged makes t, a Lease table, call judged whenever one of its
// breakers has judged a lease expired, before it acts on that.
func SetLeaseJudged(t *Table, judged func(leaseFile string)) {
	t.backend().(*leaseBackend).judged = judged
}

// SetLeaseActing makes t's lease breakers call acting when one has won its
// claim on a lease and found it still the one it judged, before it
// replaces it.
func SetLeaseActing(t *Table, acting func(leaseFile string)) {
	t.backend().(*leaseBackend).acting = acting
}

// SetLeaseAgeByMtime makes t's lease breakers date files by their mtime
// instead of their ctime, so that a test can make a file look old.
func SetLeaseAgeByMtime(t *Table) { t.backend().(*leaseBackend).ageByMtime = true }

// ExpiredLease returns a lease record with token (32 hex digits) that
// expired an hour ago, as a holder that died leaves it.
func ExpiredLease(token string) []byte {
	return leaseRecord{token: token, expires: time.Now().Add(-time.Hour), pid: 1, host: "gone"}.encode()
}

// TryLeaseExpired takes the lease for name in t, a Lease table, as its
// holder would see it once renewals had failed until past its expiry, and
// returns its unlock.
func TryLeaseExpired(t *Table, name string) (unlock func() error, err error) {
	l, _, err := t.backend().(*leaseBackend).try(name)
	if err != nil || l == nil {
		return nil, err
	}
	h := l.(*leaseHeld)
	h.mu.Lock()
	h.rec.expires, h.deadline = time.Now().Add(-time.Second), h.b.mono().add(-time.Second)
	h.mu.Unlock()
	return h.unlock, nil
}

// LeaseRecordExpiring returns the owner record of a lease with token that
// expires at expires, as a holder would have written it.
func LeaseRecordExpiring(token string, expires time.Time) []byte {
	return leaseRecord{token: token, expires: expires, pid: 1, host: "gone"}.encode()
}

// LeaseExpires returns when h's lease runs out by its holder's clock, as
// its holder last wrote it (taken or renewed); ok is false for a handle
// that holds no lease.
func LeaseExpires(h *Handle) (expires time.Time, ok bool) {
	l, ok := h.os.(*leaseHeld)
	if !ok {
		return time.Time{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec.expires, true
}

// SetLeaseClock makes t, a Lease table, write and judge leases by now
// instead of the wall clock: a host whose clock is off.
func SetLeaseClock(t *Table, now func() time.Time) { t.backend().(*leaseBackend).clock = now }

// SetLeaseMonoClock makes t, a Lease table, time its holders' leases by
// elapsed on the monotonic clock instead of following its clock (see
// SetLeaseClock): a host whose wall clock moved on while its monotonic
// clock did not, as through a suspend.
func SetLeaseMonoClock(t *Table, elapsed func() time.Duration) {
	t.backend().(*leaseBackend).monoClock = func() mono { return mono(elapsed()) + 1 }
}

// KnownLost reports whether h's OS lock is known lost (a lease's renewal
// found it so, say), without checking it.
func KnownLost(h *Handle) bool { return h.os.lost() }
