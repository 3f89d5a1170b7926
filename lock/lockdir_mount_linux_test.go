package lock_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestLockDirReplacedByFUSEMount: a table (Auto, so Flock on a local file
// system) whose lock directory is replaced by a FUSE mount of the shared
// directory (bindfs, which forwards no locks: Linux emulates flock on
// this host alone, as for sshfs, s3fs and rclone), beside another host's
// FUSE mount of it. A reopen probes the new mount as NewTable does: Auto
// picks Lease there, which the Flock table cannot use, so its takes fail
// with ErrStrategyMismatch, and the directory records lease for the other
// host. The reopen kept the old mount's findings: it took a local-only
// flock and recorded flock in the shared directory, which the other
// host's Auto table adopted, and both hosts held the same lock.
func TestLockDirReplacedByFUSEMount(t *testing.T) {
	shared := t.TempDir()
	hostB := testenv.BindfsMounts(t, shared, 1)[0] // skips without bindfs or root
	dir := newLockDir(t)
	a := newTable(t, lock.Config{Dir: dir, VerifyAfter: time.Nanosecond})
	if a.Strategy() != lock.Flock {
		t.Skipf("Auto picked %v on the local file system, not Flock", a.Strategy())
	}
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bindfs", shared, dir).CombinedOutput(); err != nil {
		t.Fatalf("bindfs %s %s: %v: %s", shared, dir, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })

	ha, errA := a.TryLock("0001", "sess", lock.Exclusive)
	if errA == nil {
		defer ha.Unlock()
	} else if !errors.Is(errA, lock.ErrStrategyMismatch) {
		t.Errorf("host A's take in the FUSE mount now at its lock directory's path: %v, want ErrStrategyMismatch", errA)
	} else if !strings.Contains(errA.Error(), "FUSE mount") || strings.Count(errA.Error(), dir) != 1 {
		t.Errorf("host A's take: %q, want it to name the FUSE mount as the cause, and %s once", errA, dir)
	}
	b := newTable(t, lock.Config{Dir: hostB})
	hb, errB := b.TryLock("0001", "sess", lock.Exclusive)
	if errB == nil {
		defer hb.Unlock()
	}
	if errA == nil && errB == nil {
		t.Fatalf("both hosts hold lock 0001 (host A %v, host B %v): host A's reopen took a local-only flock on the FUSE mount", a.Strategy(), b.Strategy())
	}
	if b.Strategy() != lock.Lease {
		t.Errorf("host B, Auto on the FUSE mount after host A's reopen: %v, want Lease", b.Strategy())
	}
}

// TestLockDirReplacedByFUSEMountReportsFlockOnFUSE: a table (Auto, so
// Flock on a local file system) whose lock directory is replaced by a
// FUSE mount (bindfs) of a directory that records flock (its processes
// lock with flock there, as NewTable keeps them on FUSE). The reopen
// joins them, as a table opened there does, and FlockOnFUSE() says so
// from then on, as it does for that table, for its caller to warn that
// flock may exclude this host's processes alone. It kept saying false,
// NewTable's finding on the local disk.
func TestLockDirReplacedByFUSEMountReportsFlockOnFUSE(t *testing.T) {
	shared := t.TempDir()
	rec := newTable(t, lock.Config{Dir: shared, Strategy: lock.Flock})
	rec.Close()
	dir := newLockDir(t)
	a := newTable(t, lock.Config{Dir: dir, VerifyAfter: time.Nanosecond})
	if a.Strategy() != lock.Flock {
		t.Skipf("Auto picked %v on the local file system, not Flock", a.Strategy())
	}
	if a.FlockOnFUSE() {
		t.Fatal("FlockOnFUSE() on a local directory")
	}
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.BindfsMounts(t, shared, 0) // skips without bindfs or root
	if out, err := exec.Command("bindfs", shared, dir).CombinedOutput(); err != nil {
		t.Fatalf("bindfs %s %s: %v: %s", shared, dir, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })

	h, err := a.TryLock("0001", "sess", lock.Exclusive)
	if err != nil {
		t.Fatalf("take in the FUSE mount that records flock, now at the lock directory's path: %v", err)
	}
	defer h.Unlock()
	if !a.FlockOnFUSE() {
		t.Error("FlockOnFUSE() = false after the table reopened its lock directory on a FUSE mount, where it locks with flock")
	}
	b := newTable(t, lock.Config{Dir: dir})
	if !b.FlockOnFUSE() {
		t.Error("FlockOnFUSE() = false for a table opened on the FUSE mount: the test's premise fails")
	}
}
