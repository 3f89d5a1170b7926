package lock_test

import (
	"context"
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

// TestKernelLeaseOnLeaseFile: the O_NONBLOCK that keeps a FIFO from
// blocking an open changes open(2) of a regular file too. On a file that
// carries a kernel write lease (fcntl F_SETLEASE: what knfsd's write
// delegations and Samba's oplocks put on the files of an export, met by a
// process on the server host through the local path) an open without it
// waits, up to the kernel's lease-break-time (45 s), for the lease to be
// let go; with it, it fails at once with EWOULDBLOCK, and Lock failed with
// that. The lock now counts as held while the lease is being broken: a
// Lock waits for it under its context, and gets it once the lease's holder
// lets go (as a delegation's client does on recall), but not after its
// context has ended when the holder does not.
func TestKernelLeaseOnLeaseFile(t *testing.T) {
	for _, letsGo := range []bool{true, false} {
		t.Run(map[bool]string{true: "holder lets go", false: "holder ignores the break"}[letsGo], func(t *testing.T) {
			kernelLeaseOnLeaseFile(t, letsGo)
		})
	}
}

func kernelLeaseOnLeaseFile(t *testing.T, letsGo bool) {
	const token = "0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: time.Second, LeaseGrace: 100 * time.Millisecond})
	p := filepath.Join(dir, "k.lease")
	// A dead holder's lease, expired long ago: Lock should take it over.
	if err := os.WriteFile(p, lock.LeaseRecordExpiring(token, time.Now().Add(-time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := f.Fd()
	sigio := make(chan os.Signal, 1)
	signal.Notify(sigio, syscall.SIGIO)
	defer signal.Stop(sigio)
	if _, err := unix.FcntlInt(fd, unix.F_SETLEASE, unix.F_WRLCK); err != nil {
		t.Skipf("F_SETLEASE: %v", err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		<-sigio // the kernel asks the lease holder to let go
		if letsGo {
			unix.FcntlInt(fd, unix.F_SETLEASE, unix.F_UNLCK)
		}
	}()
	defer func() { <-released }() // before f.Close

	h, err := tab.TryLock("k", "k", lock.Exclusive)
	switch {
	case err == nil:
		h.Unlock()
	case errors.Is(err, lock.ErrLocked): // the lease is still being broken
	default:
		t.Fatalf("TryLock on an expired lease whose file carries a kernel lease: %v, want the lock or ErrLocked", err)
	}
	if !letsGo {
		// A breaker's claim on the expired lease, left by one that died:
		// the sweep must keep it while the lease file cannot be read.
		claim := "k.lease.claim-" + token + "-1"
		if inUse, err := lock.LeaseLeftoverInUse(dir, claim); !inUse {
			t.Errorf("LeaseLeftoverInUse(%s) while the lease file's kernel lease is broken: false (%v), want true", claim, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		h, err := tab.Lock(ctx, "k", "k", lock.Exclusive)
		if err == nil {
			h.Unlock()
			t.Fatal("Lock granted after its context ended, while the file's kernel lease was still held")
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, lock.ErrLocked) {
			t.Errorf("Lock: %v, want its context's end", err)
		}
		return
	}
	h, err = tab.Lock(t.Context(), "k", "k", lock.Exclusive)
	if err != nil {
		t.Fatalf("Lock: %v, want the expired lease taken over once the kernel lease is let go", err)
	}
	h.Unlock()
}
