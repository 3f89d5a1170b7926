//go:build windows

package lock_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLongLockDirPath: a lock directory whose path is longer than
// MAX_PATH (260 characters) locks, verifies, unlocks and has its leases
// read and broken, as a short one. The package opens, identifies and
// removes lease files with CreateFile and DeleteFile itself (for
// FILE_SHARE_DELETE and a delete pending told apart), which, unlike
// package os's calls, were given the path without the \\?\ prefix: where
// Windows does not take long paths without it (before Windows 10 1607,
// or without the LongPathsEnabled setting) every lease there failed.
func TestLongLockDirPath(t *testing.T) {
	dir := t.TempDir()
	for len(dir) < 300 {
		dir = filepath.Join(dir, strings.Repeat("d", 40))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Skipf("os.MkdirAll of a %d-character path: %v", len(dir), err)
	}
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
	if err != nil {
		t.Fatalf("NewTable in a %d-character path: %v", len(dir), err)
	}
	defer tab.Close()
	h, err := tab.TryLock("0001", "k", lock.Exclusive)
	if err != nil {
		t.Fatalf("TryLock in a %d-character path: %v", len(dir), err)
	}
	if err := h.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	d := lock.NewLeaseDir(dir)
	defer d.Close()
	if _, err := d.Holder("0001"); err != nil {
		t.Errorf("LeaseDir.Holder: %v", err)
	}
	if err := h.Unlock(); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "0001.lease")); !os.IsNotExist(err) {
		t.Errorf("the lease file after Unlock: %v, want it removed", err)
	}
	// An expired lease there, broken by a sweeper.
	if err := os.WriteFile(filepath.Join(dir, "0002.lease"), lock.ExpiredLease(strings.Repeat("a", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "0002.lease"), old, old)
	if gone, err := lock.BreakExpiredLease(dir, "0002", 0, 0); err != nil || !gone {
		t.Errorf("BreakExpiredLease: %v, %v; want true, nil", gone, err)
	}
}
