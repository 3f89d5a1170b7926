//go:build unix

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestNotLockFileSwappedForHeldLease: whatever is not a regular file put
// at a held lease's name (the lease file removed or renamed over by a
// tool) is no longer the holder's lease, and waiters refuse it with
// ErrNotLockFile: the holder's Verify and Unlock say ErrLockLost, as for
// a FIFO (TestFIFOSwappedForHeldLease). Only a FIFO and a directory,
// which open read-only, said so; a socket (ENXIO), a symlink (ELOOP) or
// a directory met by the renewal's read-write open (EISDIR) failed the
// open with a bare error that said nothing of the lease, so Verify said
// "could not check" until the lease ran out, and Unlock left the file.
// The TTL is long: no renewal runs, and nothing depends on time passing.
func TestNotLockFileSwappedForHeldLease(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("not the store's"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name string
		make func(p string) error
	}{
		{"fifo", mkfifo},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"socket", mksocket},
		{"symlink", func(p string) error { return os.Symlink(outside, p) }},
		{"dangling symlink", func(p string) error { return os.Symlink(outside+"-none", p) }},
	} {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: 5 * time.Minute})
			h, err := tab.TryLock("k", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "k.lease")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := k.make(p); err != nil {
				h.Unlock()
				t.Skipf("cannot make a %s here: %v", k.name, err)
			}
			if err := h.Verify(); !errors.Is(err, lock.ErrLockLost) {
				t.Errorf("Verify of a lease whose file became a %s: %v, want ErrLockLost", k.name, err)
			}
			if err := h.Unlock(); !errors.Is(err, lock.ErrLockLost) {
				t.Errorf("Unlock of a lease whose file became a %s: %v, want ErrLockLost", k.name, err)
			}
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("the %s after Unlock: %v, want it left where it is", k.name, err)
			}
		})
	}
}
