package lock_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLeaseDirRefusesPaths: BreakExpiredLease and LeftoverInUse act on
// one file of the lock directory, named by the caller. A name that is a
// path (a separator, "..") reached outside it: an expired lease of
// another directory was broken, and a claim's lease there was read.
// They refuse such a name, as Lock does, and touch nothing. A lock name
// "." or ".." is no path: its lease file ("..lease", "...lease") is one
// file of the directory, as the sweep lists it, and an expired one is
// broken there (it was refused, and the sweep failed on it at every
// pass).
func TestLeaseDirRefusesPaths(t *testing.T) {
	root := t.TempDir()
	locks := filepath.Join(root, "locks")
	if err := os.Mkdir(locks, 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(root, "outside.lease")
	if err := os.WriteFile(outside, lock.ExpiredLease(deadToken), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../outside", "sub/../../outside", "", "./../outside"} {
		broken, err := lock.BreakExpiredLease(locks, name, time.Second, time.Second)
		if broken || !errors.Is(err, lock.ErrInvalidName) {
			t.Errorf("BreakExpiredLease(%q) = %v, %v; want false and ErrInvalidName", name, broken, err)
		}
		if _, err := os.Stat(outside); err != nil {
			t.Fatalf("after BreakExpiredLease(%q), the lease outside the directory: %v", name, err)
		}
	}
	claim := "../outside.lease.claim-" + deadToken + "-1"
	l := lock.NewLeaseDir(locks)
	defer l.Close()
	if inUse, err := l.LeftoverInUse(claim); !inUse || !errors.Is(err, lock.ErrInvalidName) {
		t.Errorf("LeftoverInUse(%q) = %v, %v; want true (left alone) and ErrInvalidName", claim, inUse, err)
	}
	for _, name := range []string{".", ".."} {
		p := filepath.Join(locks, name+".lease")
		if err := os.WriteFile(p, lock.ExpiredLease(deadToken), 0o600); err != nil {
			t.Fatal(err)
		}
		broken, err := lock.BreakExpiredLease(locks, name, time.Second, time.Second)
		if !broken || err != nil {
			t.Errorf("BreakExpiredLease(%q), its expired lease %s in the directory: %v, %v; want it broken", name, filepath.Base(p), broken, err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after BreakExpiredLease(%q): %v; want it gone", filepath.Base(p), name, err)
		}
		if _, err := os.Stat(outside); err != nil {
			t.Fatalf("after BreakExpiredLease(%q), the lease outside the directory: %v", name, err)
		}
	}
}

// TestLeaseDirClosed: a LeaseDir's calls after its Close fail with
// ErrClosed, whether or not a call opened the directory before it, and a
// second Close does nothing. One closed before any call opened the
// directory at the next call, a descriptor that nothing closed.
func TestLeaseDirClosed(t *testing.T) {
	for _, used := range []bool{false, true} {
		t.Run(fmt.Sprintf("used before Close %v", used), func(t *testing.T) {
			l := lock.NewLeaseDir(t.TempDir())
			if used {
				if _, err := l.LeftoverInUse("x.lease.claim-" + deadToken + "-0"); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for _, c := range []struct {
				name string
				call func() error
			}{
				{"LeftoverInUse", func() error {
					_, err := l.LeftoverInUse("x.lease.claim-" + deadToken + "-0")
					return err
				}},
				{"BreakExpired", func() error { _, err := l.BreakExpired("x", 0, 0); return err }},
				{"Holder", func() error { _, err := l.Holder("x"); return err }},
			} {
				if err := c.call(); !errors.Is(err, lock.ErrClosed) {
					t.Errorf("%s after Close: %v, want ErrClosed", c.name, err)
				}
			}
			if err := l.Close(); err != nil {
				t.Errorf("second Close: %v, want nil", err)
			}
		})
	}
}
