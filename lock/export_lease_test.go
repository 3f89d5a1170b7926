package lock

import "time"

// SetLeaseJudged makes t, a Lease table, call judged whenever one of its
// breakers has judged a lease expired, before it acts on that.
func SetLeaseJudged(t *Table, judged func(leaseFile string)) {
	t.be.(*leaseBackend).judged = judged
}

// ExpiredLease returns a lease record with token (32 hex digits) that
// expired an hour ago, as a holder that died leaves it.
func ExpiredLease(token string) []byte {
	return leaseRecord{token: token, expires: time.Now().Add(-time.Hour), pid: 1, host: "gone"}.encode()
}

// TryLeaseExpired takes the lease for name in t, a Lease table, as its
// holder would see it once renewals had failed until past its expiry, and
// returns its unlock.
func TryLeaseExpired(t *Table, name string) (unlock func() error, err error) {
	l, err := t.be.(*leaseBackend).try(name)
	if err != nil || l == nil {
		return nil, err
	}
	h := l.(*leaseHeld)
	h.mu.Lock()
	h.rec.expires = time.Now().Add(-time.Second)
	h.mu.Unlock()
	return h.unlock, nil
}
