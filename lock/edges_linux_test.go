package lock_test

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/lock"
)

// TestOpenOfLeasedLeaseFileWaits: the O_NONBLOCK that keeps a FIFO from
// blocking an open changes open(2) of a regular file too. On a file that
// carries a kernel write lease (fcntl F_SETLEASE: what knfsd's write
// delegations and Samba's oplocks put on the files of an export, met by a
// process on the server host through the local path) an open without it
// waits for the lease to be broken; with it, it fails at once with
// EWOULDBLOCK, and Lock failed with that. Here the lease's holder lets go
// as soon as it is asked (SIGIO), as a delegation's client does on recall.
func TestOpenOfLeasedLeaseFileWaits(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: time.Second, LeaseGrace: 100 * time.Millisecond})
	p := filepath.Join(dir, "k.lease")
	// A dead holder's lease, expired long ago: TryLock should take it over.
	if err := os.WriteFile(p, lock.LeaseRecordExpiring(token, time.Now().Add(-time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sigio := make(chan os.Signal, 1)
	signal.Notify(sigio, syscall.SIGIO)
	defer signal.Stop(sigio)
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETLEASE, unix.F_WRLCK); err != nil {
		t.Skipf("F_SETLEASE: %v", err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		<-sigio // the kernel asks the lease holder to let go
		unix.FcntlInt(f.Fd(), unix.F_SETLEASE, unix.F_UNLCK)
	}()
	h, err := tab.TryLock("k", "k", lock.Exclusive)
	if err == nil {
		h.Unlock()
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("TryLock on an expired lease whose file carries a kernel lease: %v", err)
	}
	if err != nil {
		t.Fatalf("TryLock: %v, want the expired lease taken over", err)
	}
}
