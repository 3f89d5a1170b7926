//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock

import (
	"path/filepath"
	"testing"
)

// TestTryLockFileInVerifyRevalidatesOnNFS: a fleet lock's Verify looks at
// its directory's path as a Table's does, and on NFS a Table's look
// revalidates the directory above first (refreshDir): without it the
// client answered the lstat from its cache for some 20 s, so a lock
// directory moved away and made anew by another host, where the next
// sessgc pass took the same fleet lock, went unseen by this pass's
// Verify for that long. The directory of a fleet lock on NFS must be
// looked at as on NFS.
func TestTryLockFileInVerifyRevalidatesOnNFS(t *testing.T) {
	dir := t.TempDir()
	d, err := openLockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ft := fileTarget{path: filepath.Join(dir, ".sessgc"), at: d.join(".sessgc"), dir: d, name: ".sessgc", perm: 0o600}
	l, err := tryLockFileOnce(ft, fileOps{writeThrough: func(int) (string, error) { return "write", nil }})
	if err != nil {
		d.close()
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	if !d.onNFS() {
		t.Error("Verify of a fleet lock on NFS looked at its directory's path as off NFS: no revalidation of the directory above, the client's cached answer taken")
	}
}
