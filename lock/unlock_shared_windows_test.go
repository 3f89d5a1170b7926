package lock_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLeaseUnlockWhileOpenElsewhere: a lease's Unlock while another
// process (a virus scanner, the search indexer, a backup agent, a tool
// that reads the file with os.Open) has the lease file open without
// sharing delete access, which refuses the delete with a sharing
// violation until it closes the file. The Unlock tries again, as
// Windows' own tools and Go's toolchain do for such a refusal, and
// removes the file once the other handle is closed: the lock is free at
// once. It failed at the first refusal, leaving the lease in place, so
// every other process was kept out until the lease ran out (LeaseTTL
// plus LeaseGrace: 17 s by default).
func TestLeaseUnlockWhileOpenElsewhere(t *testing.T) {
	dir := t.TempDir()
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	h, err := tab.TryLock("0001", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	lease := filepath.Join(dir, "0001.lease")
	other, err := os.Open(lease) // no FILE_SHARE_DELETE, as os opens files
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	refused := 0
	lock.SetRemoveRefused(tab, func(path string) {
		if refused++; refused == 1 {
			other.Close() // the other process is done with it
		}
	})
	if err := h.Unlock(); err != nil {
		t.Fatalf("Unlock while another handle had the lease file open without sharing delete: %v", err)
	}
	if refused == 0 {
		t.Skip("this system removed a file open elsewhere without sharing delete access (no sharing violation)")
	}
	if _, err := os.Lstat(lease); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the lease file after Unlock: %v, want it removed", err)
	}
	h2, err := tab.TryLock("0001", "k", lock.Exclusive)
	if err != nil {
		t.Fatalf("TryLock after the Unlock: %v", err)
	}
	h2.Unlock()
}

// TestLeaseUnlockWhileOpenElsewhereStopsAtExpiry: a lease's Unlock whose
// remove is refused (another process has the lease file open without
// sharing delete access) until the lease has run out, as through a short
// LeaseTTL or renewals that had failed. The Unlock stops trying there
// and leaves the lease to expire, as it leaves an expired one: from its
// expiry (past the grace period) a breaker may put its own lease at the
// name, which a later try would remove. It tried for 2 s whatever the
// lease had left.
func TestLeaseUnlockWhileOpenElsewhereStopsAtExpiry(t *testing.T) {
	dir := t.TempDir()
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	var ahead atomic.Int64 // how far this host's clock has moved on
	lock.SetLeaseClock(tab, func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	h, err := tab.TryLock("0001", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	lease := filepath.Join(dir, "0001.lease")
	other, err := os.Open(lease) // no FILE_SHARE_DELETE, as os opens files
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	refused := 0
	lock.SetRemoveRefused(tab, func(string) {
		refused++
		ahead.Store(int64(time.Hour)) // the lease runs out during the wait
	})
	err = h.Unlock()
	if refused == 0 {
		t.Skip("this system removed a file open elsewhere without sharing delete access (no sharing violation)")
	}
	if err == nil {
		t.Error("Unlock whose remove was refused until the lease ran out: nil error")
	}
	if refused != 1 {
		t.Errorf("removes refused and tried again: %d, want 1 (none once the lease ran out)", refused)
	}
}
