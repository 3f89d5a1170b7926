//go:build linux

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	cfg := nfstest.Config{Hosts: 2, Timeout: 5 * time.Minute}
	scenarios := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ExclusionFlock", func(t *testing.T) { nfsLockExclusion(t, lock.Flock, 30) }},
		{"ExclusionLease", func(t *testing.T) { nfsLockExclusion(t, lock.Lease, 8) }},
		{"SharedAcrossHosts", nfsLockShared},
		{"FileLockAcrossHosts", nfsFileLock},
		// Last: it cuts hostA's link for longer than the lease.
		{"VerifyAfterLeaseLoss", nfsLockLeaseLoss},
	}
	role := func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, sc.fn)
		}
	}
	nfstest.Run(t, cfg, map[string]func(*testing.T){"hostA": role, "hostB": role})
}

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

// nfsLockShared: a shared lock on hostA admits hostB's shared lock and
// keeps out its exclusive one until hostA releases it.
func nfsLockShared(t *testing.T) {
	tab := nfsTable(t, lock.Config{Strategy: lock.Flock})
	if nfstest.Host() == "hostA" {
		h, err := tab.Lock(nfsLockCtx(t, nfsLockWait), "sh", "sh", lock.Shared)
		if err != nil {
			t.Fatal(err)
		}
		nfsLockSignal(t, "held")
		nfsLockWaitSig(t, "tried", nfsLockWait)
		if err := h.Unlock(); err != nil {
			t.Error(err)
		}
		nfsLockSignal(t, "released")
		nfsLockWaitSig(t, "done", nfsLockWait)
		return
	}
	nfsLockWaitSig(t, "held", nfsLockWait)
	if h, err := tab.TryLock("sh", "sh", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		t.Errorf("exclusive TryLock while hostA holds it shared = %v, want ErrLocked", err)
		if h != nil {
			h.Unlock()
		}
	}
	if h, err := tab.TryLock("sh", "sh", lock.Shared); err != nil {
		t.Errorf("shared TryLock while hostA holds it shared: %v", err)
	} else {
		h.Unlock()
	}
	nfsLockSignal(t, "tried")
	nfsLockWaitSig(t, "released", nfsLockWait)
	h, err := tab.Lock(nfsLockCtx(t, 30*time.Second), "sh", "sh", lock.Exclusive)
	if err != nil {
		t.Errorf("exclusive Lock after hostA released: %v", err)
	} else {
		h.Unlock()
	}
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
	const cutFor = 15 * time.Second
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
		if err := cut.Wait(nfsLockCtx(t, cutFor+nfsLockWait)); err != nil {
			t.Fatal(err)
		}
		nfsLockWaitSig(t, "taken", 2*time.Minute)
		err = h.Verify()
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
	h, err := tab.Lock(nfsLockCtx(t, cutFor+nfsLockWait), "l", "l", lock.Exclusive)
	if err != nil {
		t.Fatalf("Lock while hostA is cut off: %v", err)
	}
	t.Logf("hostB took the lock %v after asking (lease 10 s)", time.Since(start).Round(time.Millisecond))
	nfsLockSignal(t, "taken")
	// Hold it until hostA has verified, so hostA's Verify cannot succeed by
	// re-acquiring a free lock.
	nfsLockWaitSig(t, "verified", 3*time.Minute)
	if err := h.Unlock(); err != nil {
		t.Error(err)
	}
}
