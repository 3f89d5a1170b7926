package fsstore

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestStickyDeniedAgreesWithKernel: a dry run's verdict on a file in
// another user's sticky directory (stickyDenied) is the one the kernel
// gives the real run's removal, for files of several owners. In the
// initial user namespace every id is mapped: a file of uid 65534 (nobody,
// what an NFS server's root_squash makes root's files) was taken for one
// of an unmapped id, which the overflow id stands for only inside a user
// namespace, and the dry run said it could not remove a file that the
// real run removed.
func TestStickyDeniedAgreesWithKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give files and the directory other owners")
	}
	dir := filepath.Join(t.TempDir(), "sticky")
	if err := os.Mkdir(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o777|os.ModeSticky))
	must(os.Chown(dir, 1000, 1000))
	for _, owner := range []int{1000, 1001, 65534, 0} {
		p := filepath.Join(dir, "f")
		must(os.WriteFile(p, nil, 0o600))
		must(os.Chown(p, owner, owner))
		di, err := os.Lstat(dir)
		must(err)
		verdict := stickyDenied(di, p)
		err = syscall.Unlink(p)
		if errors.Is(verdict, syscall.EPERM) != errors.Is(err, syscall.EPERM) {
			t.Errorf("a file of uid %d in a sticky directory of uid 1000, removed as euid 0: the dry run says %v, the kernel %v", owner, verdict, err)
		}
		_ = os.Remove(p)
	}
}
