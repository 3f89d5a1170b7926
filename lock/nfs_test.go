//go:build linux

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/nfstest"
	"github.com/sessfs/sessfs/lock"
)

// The lock package on real NFS: two client hosts with their own NFSv4.1
// client identities and leases share one kernel nfsd export (see
// docs/testing.md). All scenarios share one guest boot; each is a subtest
// running on both hosts in step (nfstest.Barrier, Signal, WaitFile).
func TestNFSLocks(t *testing.T) {
	nfstest.Require(t)
	scenarios := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ExclusionFlock", func(t *testing.T) { nfsLockExclusion(t, lock.Flock, 30) }},
		{"ExclusionLease", func(t *testing.T) { nfsLockExclusion(t, lock.Lease, 8) }},
		{"KeysAcrossHosts", nfsLockKeys},
		{"WaitersTakeNoSlot", nfsLockWaitersNoSlot},
		{"FileLockAcrossHosts", nfsFileLock},
		{"BreakDeadLeases", nfsBreakDeadLeases},
		{"StrategyAcrossHosts", nfsStrategyAcrossHosts},
		{"LockDirMoved", nfsLockDirMoved},
		// Last: it cuts hostA's link for longer than the lease.
		{"VerifyAfterLeaseLoss", nfsLockLeaseLoss},
	}
	role := func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, sc.fn)
		}
	}
	nfstest.Run(t, nfsLocksGuest, map[string]func(*testing.T){"hostA": role, "hostB": role})
}

// nfsGuests are the guests of this package's NFS tests, which TestMain
// boots while the other tests run (nfstest.Start, with NFSTEST_EARLY=1).
var nfsGuests = []nfstest.Early{{Test: "TestNFSLocks", Config: nfsLocksGuest}}

// nfsLocksGuest is TestNFSLocks's guest.
var nfsLocksGuest = nfstest.Config{Hosts: 2, Timeout: 5 * time.Minute}

const nfsLockWait = 60 * time.Second

func nfsLockCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// nfsTable opens a Table in the scenario's lock directory on the export.
func nfsTable(t *testing.T, cfg lock.Config) *lock.Table {
	t.Helper()
	cfg.Dir = filepath.Join(nfstest.Dir(t), "locks")
	if err := os.MkdirAll(cfg.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return newTable(t, cfg)
}

func nfsLockSignal(t *testing.T, name string) {
	t.Helper()
	if err := nfstest.Signal(filepath.Join(nfstest.Dir(t), "sig", name)); err != nil {
		t.Fatal(err)
	}
}

func nfsLockWaitSig(t *testing.T, name string, d time.Duration) {
	t.Helper()
	if err := nfstest.WaitFile(nfsLockCtx(t, d), filepath.Join(nfstest.Dir(t), "sig", name)); err != nil {
		t.Fatalf("waiting for the other host: %v", err)
	}
}

// nfsBreakDeadLeases: both hosts break the same dead leases at once, as
// the hosts of a fleet do after a holder died: leases with an expired
// record, and leases created and never written (judged by their ctime,
// from the server's clock: an NFS exclusive create parks a verifier in the
// mtime). Each lock ends up with one holder at a time: a lease one host
// won is never taken over by the other while it is valid.
//
// The short lease keeps the wait for the unwritten ones to expire short,
// and a guest starved for longer than it (a busy CI machine) loses leases
// it won before it verifies them: the lease does what it must, so a lease
// that ran out unrenewed is no failure. What fails is a lease lost while
// it was valid, a lock nobody won, and a lock both hosts won where neither
// took it over after the other's lease had run out plus the grace period.
func nfsBreakDeadLeases(t *testing.T) {
	const n = 40
	const ttl, grace = 2 * time.Second, time.Second
	tab := nfsTable(t, lock.Config{Strategy: lock.Lease, LeaseTTL: ttl, LeaseGrace: grace})
	dir := filepath.Join(nfstest.Dir(t), "locks")
	name := func(i int) string { return fmt.Sprintf("dead%02d", i) }
	if nfstest.Host() == "hostA" {
		for i := range n {
			var rec []byte
			if i%2 == 0 {
				rec = lock.ExpiredLease(fmt.Sprintf("%032x", i+1))
			}
			if err := os.WriteFile(filepath.Join(dir, name(i)+".lease"), rec, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	nfstest.Barrier(t, "dead-left", nfsLockWait)
	// Until the unwritten ones have expired: a duration, not an event.
	time.Sleep(ttl + grace + 500*time.Millisecond)
	nfstest.Barrier(t, "break", nfsLockWait)
	type win struct {
		name  string
		h     *lock.Handle
		after time.Time // TryLock returned: the takeover was before
	}
	var won []win
	defer func() {
		for _, w := range won {
			w.h.Unlock()
		}
	}()
	for i := range n {
		h, err := tab.TryLock(name(i), "k", lock.Exclusive)
		switch {
		case err == nil:
			won = append(won, win{name(i), h, time.Now()})
		case !errors.Is(err, lock.ErrLocked):
			t.Errorf("%s: %v", name(i), err)
		}
	}
	// Both hosts are done breaking: a lease won and lost since went to
	// the other host, or ran out unrenewed.
	nfstest.Barrier(t, "broken", nfsLockWait)
	var lines []string
	for _, w := range won {
		end := "held"
		if err := w.h.Verify(); err != nil {
			expires, _ := lock.LeaseExpires(w.h)
			if errors.Is(err, lock.ErrLockLost) && time.Now().After(expires) {
				t.Logf("%s: the lease won ran out unrenewed (at %v): %v", w.name, expires.Format(time.StampMilli), err)
			} else {
				t.Errorf("%s: the lease won is lost while valid (until %v): %v", w.name, expires.Format(time.StampMilli), err)
			}
			end = strconv.FormatInt(expires.UnixNano(), 10)
		}
		lines = append(lines, fmt.Sprintf("%s %d %s", w.name, w.after.UnixNano(), end))
	}
	mine := filepath.Join(nfstest.Dir(t), "won-"+nfstest.Host())
	if err := os.WriteFile(mine+".tmp", []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(mine+".tmp", mine); err != nil {
		t.Fatal(err)
	}
	nfstest.Barrier(t, "listed", nfsLockWait)
	other := "hostB"
	if nfstest.Host() == "hostB" {
		other = "hostA"
	}
	theirs := filepath.Join(nfstest.Dir(t), "won-"+other)
	if err := nfstest.WaitFile(nfsLockCtx(t, nfsLockWait), theirs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(theirs)
	if err != nil {
		t.Fatal(err)
	}
	// A holding: when a host's TryLock returned with the lease, and when
	// that lease ran out (zero: still held when verified, after both
	// hosts were done).
	type holding struct {
		host       string
		after, end time.Time
	}
	holders := make(map[string][]holding, n)
	for host, text := range map[string]string{nfstest.Host(): strings.Join(lines, "\n"), other: string(b)} {
		for _, line := range strings.Split(text, "\n") {
			if line == "" {
				continue
			}
			f := strings.Fields(line)
			if len(f) != 3 {
				t.Fatalf("won-%s: malformed line %q", host, line)
			}
			after, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("won-%s: %q: %v", host, line, err)
			}
			hd := holding{host: host, after: time.Unix(0, after)}
			if f[2] != "held" {
				end, err := strconv.ParseInt(f[2], 10, 64)
				if err != nil {
					t.Fatalf("won-%s: %q: %v", host, line, err)
				}
				hd.end = time.Unix(0, end)
			}
			holders[f[0]] = append(holders[f[0]], hd)
		}
	}
	// took reports whether y's takeover may have come after x's lease ran
	// out plus the grace period, as breaking it needs: it came before
	// y's TryLock returned, and the hosts share the guest's clock.
	took := func(y, x holding) bool { return !x.end.IsZero() && !y.after.Before(x.end.Add(grace)) }
	show := func(hs []holding) string {
		var s []string
		for _, h := range hs {
			end := "still held"
			if !h.end.IsZero() {
				end = "ran out at " + h.end.Format(time.StampMilli)
			}
			s = append(s, fmt.Sprintf("%s won it by %s, %s", h.host, h.after.Format(time.StampMilli), end))
		}
		return strings.Join(s, "; ")
	}
	for i := range n {
		switch hs := holders[name(i)]; {
		case len(hs) == 0:
			t.Errorf("%s: no host won it", name(i))
		case len(hs) == 2 && (took(hs[0], hs[1]) || took(hs[1], hs[0])):
			t.Logf("%s: won by both hosts in turn, the second after the first's lease ran out: %s", name(i), show(hs))
		case len(hs) > 1:
			t.Errorf("%s: %d holders at once: %s", name(i), len(hs), show(hs))
		}
	}
	t.Logf("%s won %d of %d dead leases", nfstest.Host(), len(won), n)
}

// nfsLockExclusion: goroutines on both hosts increment a counter file
// written in place (truncate and rewrite, not atomic) under one lock name.
// An overlap of two holders loses an update or reads a truncated file, so
// the final count is exact only if the lock excludes across hosts and
// within each host.
func nfsLockExclusion(t *testing.T, strategy lock.Strategy, iter int) {
	const goroutines = 3
	tab := nfsTable(t, lock.Config{Strategy: strategy})
	if got := tab.Strategy(); got != strategy {
		t.Fatalf("strategy %v, want %v", got, strategy)
	}
	counter := filepath.Join(nfstest.Dir(t), "counter")
	if nfstest.Host() == "hostA" {
		if err := os.WriteFile(counter, []byte("0"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	nfstest.Barrier(t, "ready", nfsLockWait)
	ctx := nfsLockCtx(t, 3*time.Minute)
	start := time.Now()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range iter {
				if err := nfsIncrement(ctx, tab, counter); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d increments on %s in %v", goroutines*iter, nfstest.Host(), time.Since(start).Round(time.Millisecond))
	nfstest.Barrier(t, "done", 3*time.Minute)
	b, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(nfstest.Hosts() * goroutines * iter); string(b) != want {
		t.Errorf("counter = %q, want %s: the %v lock did not exclude across hosts", b, want, strategy)
	}
}

func nfsIncrement(ctx context.Context, tab *lock.Table, counter string) error {
	h, err := tab.Lock(ctx, "ctr", "ctr", lock.Exclusive)
	if err != nil {
		return err
	}
	defer h.Unlock()
	b, err := os.ReadFile(counter)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("counter holds %q: %w", b, err)
	}
	if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o666); err != nil {
		return err
	}
	return h.Unlock()
}

// nfsLockKeys: hostA locks two keys on one lock file in one goroutine
// (Shared, then Exclusive) without waiting for itself; while either is held
// hostB is kept out of every key on the file, Shared included, and gets it
// once hostA has unlocked both.
func nfsLockKeys(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) { nfsLockKeysWith(t, strategy) })
	}
}

func nfsLockKeysWith(t *testing.T, strategy lock.Strategy) {
	tab := nfsTable(t, lock.Config{Strategy: strategy})
	if nfstest.Host() == "hostA" {
		h1, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "sh", "k1", lock.Shared)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "sh", "k2", lock.Exclusive)
		if err != nil {
			t.Fatalf("second key on the same file, same goroutine: %v", err)
		}
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "tried", nfsLockWait)
		if err := h1.Unlock(); err != nil {
			t.Error(err)
		}
		nfsLockSignal(t, "one-released")
		nfsLockWaitSig(t, "tried-again", nfsLockWait)
		if err := h2.Unlock(); err != nil {
			t.Error(err)
		}
		nfsLockSignal(t, "released")
		nfsLockWaitSig(t, "done", nfsLockWait)
		return
	}
	nfsLockWaitSig(t, "held", nfsLockWait)
	mustBeLockedKeys := func(when string) {
		for _, k := range []struct {
			key  string
			mode lock.Mode
		}{{"k1", lock.Shared}, {"k2", lock.Exclusive}, {"k3", lock.Shared}, {"k3", lock.Exclusive}} {
			if h, err := tab.TryLock("sh", k.key, k.mode); !errors.Is(err, lock.ErrLocked) {
				t.Errorf("%v TryLock of %s %s: %v, want ErrLocked", k.mode, k.key, when, err)
				if h != nil {
					h.Unlock()
				}
			}
		}
	}
	mustBeLockedKeys("while hostA holds two keys on the file")
	nfsLockSignal(t, "tried")
	nfsLockWaitSig(t, "one-released", nfsLockWait)
	mustBeLockedKeys("while hostA still holds one key on the file")
	nfsLockSignal(t, "tried-again")
	nfsLockWaitSig(t, "released", nfsLockWait)
	h, err := tab.Lock(nfsLockCtx(t, 30*time.Second), "sh", "k3", lock.Exclusive)
	if err != nil {
		t.Errorf("Lock after hostA released: %v", err)
	} else {
		h.Unlock()
	}
	nfsLockSignal(t, "done")
}

// nfsLockWaitersNoSlot: hostA holds 64 lock files; hostB, capped at
// MaxHeld 64, queues 64 requests for them and still locks an unrelated file
// at once: waiting for another host takes no slot.
func nfsLockWaitersNoSlot(t *testing.T) {
	const n = 64
	busy := func(i int) string { return fmt.Sprint("busy", i) }
	if nfstest.Host() == "hostA" {
		tab := nfsTable(t, lock.Config{Strategy: lock.Flock})
		for i := 0; i < n; i++ {
			h, err := tab.Lock(nfsLockCtx(t, nfsLockWait), busy(i), "a", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
		}
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "done", nfsLockWait)
		return
	}
	tab := nfsTable(t, lock.Config{Strategy: lock.Flock, MaxHeld: n})
	nfsLockWaitSig(t, "held", nfsLockWait)
	waitForOthers(t, tab, n, busy)
	nfsLockSignal(t, "done")
}

// nfsFileLock: the one-shot FileLock (sessgc's fleet-wide lock) excludes
// across hosts and is free again after Unlock.
func nfsFileLock(t *testing.T) {
	p := filepath.Join(nfstest.Dir(t), "gc.lock")
	if nfstest.Host() == "hostA" {
		l, err := lock.TryLockFile(p)
		if err != nil {
			t.Fatal(err)
		}
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "tried", nfsLockWait)
		if err := l.Unlock(); err != nil {
			t.Error(err)
		}
		nfsLockSignal(t, "released")
		nfsLockWaitSig(t, "done", nfsLockWait)
		return
	}
	nfsLockWaitSig(t, "held", nfsLockWait)
	if l, err := lock.TryLockFile(p); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("TryLockFile while hostA holds it = %v, want ErrLocked", err)
		if l != nil {
			l.Unlock()
		}
	}
	nfsLockSignal(t, "tried")
	nfsLockWaitSig(t, "released", nfsLockWait)
	l, err := lock.LockFile(nfsLockCtx(t, 30*time.Second), p)
	if err != nil {
		t.Errorf("LockFile after hostA released: %v", err)
	} else {
		l.Unlock()
	}
	nfsLockSignal(t, "done")
}

// nfsLockLeaseLoss: hostA holds a flock and is cut off past its NFS lease;
// hostB takes the lock over; when hostA is back, Verify must report
// ErrLockLost, and hostA must be able to lock again afterwards. VerifyAfter
// is tiny so that every Verify asks the server (with the default 5 s the
// lock here is old enough anyway).
func nfsLockLeaseLoss(t *testing.T) {
	// Half a lease past the server's lease, and every wait across the cut
	// bounded from it: a longer lease must not outrun fixed numbers.
	cutFor := nfstest.Lease() * 3 / 2
	crossCut := cutFor + nfsLockWait
	tab := nfsTable(t, lock.Config{Strategy: lock.Flock, VerifyAfter: time.Nanosecond})
	if nfstest.Host() == "hostA" {
		h, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "l", "l", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Unlock()
		if err := h.Verify(); err != nil {
			t.Fatalf("Verify of a held lock: %v", err)
		}
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "tried", nfsLockWait)
		cut, err := nfstest.CutLink("hostA", cutFor)
		if err != nil {
			t.Fatal(err)
		}
		// Over once hostB has taken the lock: it says so through the
		// guest's own control directory, which hostA sees with its link
		// down, rather than at the end of cutFor, which leaves a busy
		// machine time to get that far.
		if err := cut.EndOnSignal(nfsLockCtx(t, crossCut), t, "taken"); err != nil {
			t.Fatal(err)
		}
		nfsLockWaitSig(t, "taken", crossCut)
		err = h.Verify()
		nfstest.Event("hostA's Verify after the cut: %v", err)
		t.Logf("Verify after the lease was lost: %v", err)
		if !errors.Is(err, lock.ErrLockLost) {
			t.Errorf("Verify after hostA lost its lease = %v, want ErrLockLost", err)
		}
		t.Logf("Unlock of the lost lock: %v", h.Unlock())
		nfsLockSignal(t, "verified")
		h2, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "l", "l", lock.Exclusive)
		if err != nil {
			t.Fatalf("Lock after the lost lock: %v", err)
		}
		if err := h2.Verify(); err != nil {
			t.Errorf("Verify of the new lock: %v", err)
		}
		h2.Unlock()
		return
	}
	nfsLockWaitSig(t, "held", nfsLockWait)
	if h, err := tab.TryLock("l", "l", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("TryLock while hostA holds the lock = %v, want ErrLocked", err)
		if h != nil {
			h.Unlock()
		}
	}
	nfsLockSignal(t, "tried")
	start := time.Now()
	h, err := tab.Lock(nfsLockCtx(t, crossCut), "l", "l", lock.Exclusive)
	if err != nil {
		t.Fatalf("Lock while hostA is cut off: %v", err)
	}
	nfstest.Event("hostB took the lock")
	t.Logf("hostB took the lock %v after asking (lease %v)", time.Since(start).Round(time.Millisecond), nfstest.Lease())
	nfsLockSignal(t, "taken")
	if err := nfstest.SignalLocal(t, "taken"); err != nil {
		t.Fatal(err)
	}
	// Hold it until hostA has verified, so hostA's Verify cannot succeed by
	// re-acquiring a free lock.
	nfsLockWaitSig(t, "verified", crossCut+nfsLockWait)
	if err := h.Unlock(); err != nil {
		t.Error(err)
	}
}

// nfsStrategyAcrossHosts: hostA locks with flock (Auto picks it on the
// harness's mount, and records it). On hostB a table forced to lease
// files, which would not exclude hostA's flock, is refused, and an Auto
// table adopts flock and is kept out of hostA's lock. (A host whose mount
// keeps flock local, NFSv3 with local_lock=flock or nolock, is refused
// likewise; the harness serves NFSv4, where Linux ignores local_lock:
// TestStrategyRecordedDoesNotWorkHere covers it.)
func nfsStrategyAcrossHosts(t *testing.T) {
	tab := nfsTable(t, lock.Config{})
	if nfstest.Host() == "hostA" {
		if tab.Strategy() != lock.Flock {
			t.Fatalf("Auto on the harness mount picked %s, want flock", tab.Strategy())
		}
		h, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "k", "k", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "done", nfsLockWait)
		if err := h.Unlock(); err != nil {
			t.Error(err)
		}
		return
	}
	nfsLockWaitSig(t, "held", nfsLockWait)
	defer nfsLockSignal(t, "done")
	if tab.Strategy() != lock.Flock {
		t.Errorf("Auto beside hostA picked %s, want flock", tab.Strategy())
	}
	if h, err := tab.TryLock("k", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("TryLock while hostA holds k = %v, want ErrLocked", err)
		if h != nil {
			h.Unlock()
		}
	}
	other, err := lock.NewTable(lock.Config{Dir: tab.Dir(), Strategy: lock.Lease})
	if err == nil {
		defer other.Close()
		h, lerr := other.TryLock("k", "k", lock.Exclusive)
		if h != nil {
			defer h.Unlock()
		}
		t.Fatalf("NewTable(lease) beside hostA's flock opened (and its TryLock of the key hostA holds: %v)", lerr)
	}
	if !errors.Is(err, lock.ErrStrategyMismatch) {
		t.Errorf("NewTable(lease) beside hostA's flock = %v, want ErrStrategyMismatch", err)
	}
}

// nfsLockDirMoved: hostB moves the lock directory away and makes it anew
// (mv locks locks.old; mkdir locks) while hostA holds a lock in it, and
// takes the same lock in the new one. hostA's Verify of a lock unchecked
// for VerifyAfter (a nanosecond here, so that every Verify looks) looks
// at the path and reports ErrLockLost at its first call, its client made
// to revalidate the directory above (without that, it answered from its
// cache for 20 to 30 s); hostA's next take then locks in the new
// directory, where hostB's lock excludes it.
func nfsLockDirMoved(t *testing.T) {
	tab := nfsTable(t, lock.Config{Strategy: lock.Flock, VerifyAfter: time.Nanosecond})
	if nfstest.Host() == "hostA" {
		h, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "m", "m", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Unlock()
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "moved", nfsLockWait)
		err = h.Verify()
		nfstest.Event("hostA's Verify after the move: %v", err)
		t.Logf("Verify after hostB moved the lock directory: %v", err)
		if !errors.Is(err, lock.ErrLockLost) {
			t.Errorf("Verify of a lock in the moved directory = %v, want ErrLockLost", err)
		}
		if hn, err := tab.TryLock("n", "n", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
			t.Errorf("TryLock of n, which hostB holds in the new directory = %v, want ErrLocked", err)
			if hn != nil {
				hn.Unlock()
			}
		}
		nfsLockSignal(t, "verified")
		return
	}
	nfsLockWaitSig(t, "held", nfsLockWait)
	if err := os.Rename(tab.Dir(), tab.Dir()+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tab.Dir(), 0o777); err != nil {
		t.Fatal(err)
	}
	b, err := lock.NewTable(lock.Config{Dir: tab.Dir(), Strategy: lock.Flock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, name := range []string{"m", "n"} {
		h, err := b.TryLock(name, name, lock.Exclusive)
		if err != nil {
			t.Fatalf("TryLock of %s in the new directory: %v", name, err)
		}
		defer h.Unlock()
	}
	nfsLockSignal(t, "moved")
	nfsLockWaitSig(t, "verified", nfsLockWait*2)
}
