package lock_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

const deadToken = "0123456789abcdef0123456789abcdef"

// leftBehind writes, at the lease file p, what a dead holder leaves: an
// expired record, or one its crash left unreadable (created, never
// written) and old.
var leftBehind = []struct {
	name  string
	leave func(t *testing.T, p string)
}{
	{"expired", func(t *testing.T, p string) {
		if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
			t.Fatal(err)
		}
	}},
	{"unreadable", func(t *testing.T, p string) {
		old := time.Now().Add(-time.Hour)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}},
}

func leaseTable(t *testing.T, dir string) *lock.Table {
	t.Helper()
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	lock.SetLeaseAgeByMtime(tab) // so that Chtimes makes a file look old
	return tab
}

// TestBreakersKeepOneHolder: host A judges a dead holder's lease expired
// and is slow to act; meanwhile B breaks it and takes the lock, and C keeps
// trying. When A acts, it must neither take B's lease nor open a gap in
// which C creates its own: B alone holds the lock, and its lease still
// verifies. (Moving the lease aside to check it, as breakers once did,
// opened that gap: C got the lock too, and B lost it.)
func TestBreakersKeepOneHolder(t *testing.T) {
	for _, tc := range leftBehind {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b, c := leaseTable(t, dir), leaseTable(t, dir), leaseTable(t, dir)
			type pause struct{ judged, resume chan struct{} }
			var next atomic.Pointer[pause]
			lock.SetLeaseJudged(a, func(string) {
				if p := next.Swap(nil); p != nil {
					close(p.judged)
					<-p.resume
				}
			})
			p := filepath.Join(dir, "f.lease")
			// C's attempts must fall into A's gap: repeat so that a gap,
			// if there is one, is hit.
			for i := range 100 {
				tc.leave(t, p)
				ps := &pause{make(chan struct{}), make(chan struct{})}
				next.Store(ps)
				gotA := make(chan *lock.Handle, 1)
				go func() {
					h, _ := a.TryLock("f", "k", lock.Exclusive)
					gotA <- h
				}()
				<-ps.judged
				hb, err := b.TryLock("f", "k", lock.Exclusive)
				if err != nil {
					t.Fatalf("repetition %d: B cannot break the dead lease: %v", i, err)
				}
				stop, trying, gotC := make(chan struct{}), make(chan struct{}), make(chan *lock.Handle, 1)
				go func() {
					for n := 0; ; n++ {
						h, _ := c.TryLock("f", "k", lock.Exclusive)
						if n == 0 {
							close(trying)
						}
						select {
						case <-stop:
						default:
							if h == nil {
								continue
							}
						}
						gotC <- h
						return
					}
				}()
				<-trying
				close(ps.resume)
				ha := <-gotA
				close(stop)
				hc := <-gotC
				for who, h := range map[string]*lock.Handle{"A": ha, "C": hc} {
					if h != nil {
						t.Errorf("repetition %d: %s holds the lock B holds", i, who)
						h.Unlock()
					}
				}
				if err := hb.Verify(); err != nil {
					t.Errorf("repetition %d: B's lease: %v", i, err)
				}
				if err := hb.Unlock(); err != nil {
					t.Errorf("repetition %d: B's unlock: %v", i, err)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// TestBreakerClaims: a breaker that died holding its claim on an expired
// lease delays the next breaker by the lease period plus grace, not
// forever; a live breaker's claim keeps the others off; and what a breaker
// leaves beside a lease is counted as a lease's leftovers, for the sweep.
func TestBreakerClaims(t *testing.T) {
	dir := t.TempDir()
	tab := leaseTable(t, dir)
	p := filepath.Join(dir, "f.lease")
	claim := p + ".claim-" + deadToken + "-0"
	if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(claim, nil, 0o600); err != nil { // a live breaker's
		t.Fatal(err)
	}
	if h, err := tab.TryLock("f", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock beside a live claim = %v, %v; want ErrLocked", h, err)
	}
	if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), "token="+deadToken) {
		t.Fatalf("lease beside a live claim changed: %q, %v", b, err)
	}

	old := time.Now().Add(-time.Hour) // its breaker died
	if err := os.Chtimes(claim, old, old); err != nil {
		t.Fatal(err)
	}
	h, err := tab.TryLock("f", "k", lock.Exclusive)
	if err != nil {
		t.Fatalf("TryLock beside a dead breaker's claim: %v", err)
	}
	if err := h.Verify(); err != nil {
		t.Fatal(err)
	}
	left, err := filepath.Glob(p + ".*")
	if err != nil || len(left) != 0 {
		t.Errorf("files left beside the lease: %v, %v", left, err)
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"f.lease.claim-" + deadToken + "-3", "f.lease.take-" + deadToken, "f.lease.broken-" + deadToken} {
		if lockName, broken, ok := lock.IsLeaseFile(name); lockName != "f" || !broken || !ok {
			t.Errorf("IsLeaseFile(%s) = %q %v %v, want f true true", name, lockName, broken, ok)
		}
	}
}

// TestUnlockLeavesExpiredLease: a holder whose lease ran out unrenewed must
// not remove the lease file at unlock, because a breaker may be replacing
// it at that moment, and the remove would take the breaker's lease. It
// reports the loss and leaves the file to breakers.
func TestUnlockLeavesExpiredLease(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lock.TryLeaseExpired(leaseTable(t, dir), "f")
	if err != nil || unlock == nil {
		t.Fatalf("TryLeaseExpired = %v", err)
	}
	if err := unlock(); !errors.Is(err, lock.ErrLockLost) {
		t.Errorf("unlock of an expired lease = %v, want ErrLockLost", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f.lease")); err != nil {
		t.Errorf("expired lease file after unlock: %v, want it left", err)
	}
}

// TestLosingBreakerKeepsStaleClaims: a breaker that found a dead breaker's
// claim stale and lost the next one to a live breaker leaves the stale one
// alone. Removing it (as breakers once did on the way out) let the loser
// win it at its next poll while the live breaker was still acting: both
// renamed their lease over the expired one, and both held the lock.
func TestLosingBreakerKeepsStaleClaims(t *testing.T) {
	dir := t.TempDir()
	tab := leaseTable(t, dir)
	p := filepath.Join(dir, "f.lease")
	if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
		t.Fatal(err)
	}
	dead, live := p+".claim-"+deadToken+"-0", p+".claim-"+deadToken+"-1"
	old := time.Now().Add(-time.Hour)
	for _, c := range []string{dead, live} {
		if err := os.WriteFile(c, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(dead, old, old); err != nil {
		t.Fatal(err)
	}
	for poll := range 2 {
		if h, err := tab.TryLock("f", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
			t.Fatalf("poll %d beside a live breaker's claim = %v, %v; want ErrLocked", poll, h, err)
		}
		if _, err := os.Stat(dead); err != nil {
			t.Fatalf("poll %d: the dead breaker's claim: %v, want it kept", poll, err)
		}
	}
}

// TestLeaseLeftoverInUse: what a breaker leaves may be removed by age
// (the sweep does) except a claim on a lease still in place, for the same
// reason as in TestLosingBreakerKeepsStaleClaims.
func TestLeaseLeftoverInUse(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.lease")
	if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
		t.Fatal(err)
	}
	// A lease that cannot be read is not one without a record: which
	// lease it is stays unknown, and its claims stay.
	if err := os.Mkdir(filepath.Join(dir, "d.lease"), 0o700); err != nil {
		t.Fatal(err)
	}
	if inUse, err := lock.LeaseLeftoverInUse(dir, "d.lease.claim-i1-0"); !inUse || err == nil {
		t.Errorf("LeaseLeftoverInUse of a claim on an unreadable lease = %v, %v; want true and the error", inUse, err)
	}
	other := "fedcba9876543210fedcba9876543210"
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"f.lease.claim-" + deadToken + "-0", true},
		{"f.lease.claim-" + deadToken + "-7", true},
		{"f.lease.claim-" + other + "-0", false},     // its lease was replaced
		{"g.lease.claim-" + deadToken + "-0", false}, // its lease is gone
		{"f.lease.take-" + deadToken, false},
		{"f.lease.broken-" + deadToken, false},
		{"f.lease", false},
	} {
		got, err := lock.LeaseLeftoverInUse(dir, tt.name)
		if got != tt.want || err != nil {
			t.Errorf("LeaseLeftoverInUse(%s) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestBreakersNameALeaseAlike: breakers must agree on what they break, so
// all must name a lease alike. A lease file without a record was named by
// its mtime, so that one touched to another past time while a breaker
// acted on it (a restore, rsync -t) got a second name, a second claim,
// and a second breaker: both renamed their lease over it, and both held
// the lock. It is named by its inode now.
func TestBreakersNameALeaseAlike(t *testing.T) {
	dir := t.TempDir()
	a, b := leaseTable(t, dir), leaseTable(t, dir)
	p := filepath.Join(dir, "f.lease")
	leftBehind[1].leave(t, p) // unreadable and old
	acting, resume := make(chan struct{}), make(chan struct{})
	lock.SetLeaseActing(a, func(string) {
		close(acting)
		<-resume
	})
	gotA := make(chan *lock.Handle, 1)
	go func() {
		h, _ := a.TryLock("f", "k", lock.Exclusive)
		gotA <- h
	}()
	<-acting
	older := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(p, older, older); err != nil {
		t.Fatal(err)
	}
	if h, err := b.TryLock("f", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("B's TryLock while A breaks the lease = %v, %v; want ErrLocked", h, err)
		if h != nil {
			h.Unlock()
		}
	}
	close(resume)
	ha := <-gotA
	if ha == nil {
		t.Fatal("A did not get the lock it broke")
	}
	if err := ha.Verify(); err != nil {
		t.Errorf("A's lease: %v", err)
	}
	ha.Unlock()
}

// TestClaimAgeIsItsCtime: a claim's age is its ctime, not its mtime. An
// NFS exclusive create parks its verifier in the new file's mtime until
// the client's SETATTR after the OPEN: a losing breaker that looked then
// saw a live claim as years old, took the next one, and both acted.
func TestClaimAgeIsItsCtime(t *testing.T) {
	dir := t.TempDir()
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close() // dating files as it would on NFS: by ctime
	p := filepath.Join(dir, "f.lease")
	if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
		t.Fatal(err)
	}
	claim := p + ".claim-" + deadToken + "-0"
	if err := os.WriteFile(claim, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	verifier := time.Unix(1<<30, 0) // 2004, as a verifier may read
	if err := os.Chtimes(claim, verifier, verifier); err != nil {
		t.Fatal(err)
	}
	if h, err := tab.TryLock("f", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock beside a claim just created = %v, %v; want ErrLocked", h, err)
	}
}

// TestManyDeadBreakers: a lease whose breakers kept dying leaves many
// stale claims; the next breaker still gets through (a bound of 8 locked
// the file out for good: the sweep keeps claims on a lease in place).
func TestManyDeadBreakers(t *testing.T) {
	dir := t.TempDir()
	tab := leaseTable(t, dir)
	p := filepath.Join(dir, "f.lease")
	if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for n := range 20 {
		writeOld(t, fmt.Sprintf("%s.claim-%s-%d", p, deadToken, n), old)
	}
	h, err := tab.TryLock("f", "k", lock.Exclusive)
	if err != nil {
		t.Fatalf("TryLock past 20 dead breakers' claims: %v", err)
	}
	h.Unlock()
	if left, _ := filepath.Glob(p + ".*"); len(left) != 0 {
		t.Errorf("left beside the lease: %v", left)
	}
}

func writeOld(t *testing.T, p string, at time.Time) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}
