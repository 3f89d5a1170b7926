//go:build unix

package lock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/lock"
	"golang.org/x/sys/unix"
)

// TestLeaseDirAt: a LeaseDir over its caller's descriptor of the lock
// directory (a sweep's, which listed it) looks at and breaks leases
// through that descriptor, never opening the directory again by its
// path: here the path no longer leads to it. Its Close leaves the
// descriptor open, to its caller.
func TestLeaseDirAt(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"f.lease", "g.lease.claim-" + deadToken + "-0"} {
		if err := os.WriteFile(filepath.Join(dir, name), lock.ExpiredLease(deadToken), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	moved := filepath.Join(root, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	l := lock.LeaseDirAt(dir, fd)
	if inUse, err := l.LeftoverInUse("g.lease.claim-" + deadToken + "-0"); inUse || err != nil {
		t.Errorf("LeftoverInUse of a claim on a lease gone: %v, %v; want false", inUse, err)
	}
	if inUse, err := l.LeftoverInUse("f.lease.claim-" + deadToken + "-0"); !inUse || err != nil {
		t.Errorf("LeftoverInUse of a claim on the lease in place: %v, %v; want true", inUse, err)
	}
	if gone, err := l.BreakExpired("f", 0, 0); !gone || err != nil {
		t.Fatalf("BreakExpired through the descriptor: %v, %v; want the expired lease gone", gone, err)
	}
	if _, err := os.Stat(filepath.Join(moved, "f.lease")); !os.IsNotExist(err) {
		t.Errorf("the expired lease in the directory the descriptor names: %v; want it removed", err)
	}
	l.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Errorf("the caller's descriptor after Close: %v; want it still open", err)
	}
}
