//go:build unix

package lock_test

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
	"golang.org/x/sys/unix"
)

// exhaustFDs leaves the process no free descriptor until the returned
// function restores it.
func exhaustFDs(t *testing.T) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	low := old
	low.Cur = min(old.Cur, 256)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	var junk []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		junk = append(junk, f)
	}
	return func() {
		for _, f := range junk {
			f.Close()
		}
		unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	}
}

// TestLeaseUnlockUnreadIsNotLost: a lease's Unlock reads the lease back
// to check its token before it removes it. A read that failed for a
// reason of its own (out of descriptors here; an I/O error) was reported
// as "lease gone at unlock", ErrLockLost, and the cause dropped: the
// operator was told a lock had been lost, and not that the process had
// run out of descriptors. The lock was not lost: the error says what
// happened, and does not match ErrLockLost.
func TestLeaseUnlockUnreadIsNotLost(t *testing.T) {
	tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: lock.Lease})
	h, err := tab.TryLock("f", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	restore := exhaustFDs(t)
	err = h.Unlock()
	restore()
	switch {
	case err == nil:
		t.Skip("the unlock found a descriptor free")
	case errors.Is(err, lock.ErrLockLost):
		t.Fatalf("Unlock that could not read its lease (out of descriptors): %v, want an error that does not match ErrLockLost", err)
	case !errors.Is(err, syscall.EMFILE):
		t.Fatalf("Unlock that could not read its lease (out of descriptors): %v, want EMFILE", err)
	}
	t.Log(err)
}
