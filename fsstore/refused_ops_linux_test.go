//go:build linux

package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// A record this process may not read (another user's 0600 file in a store
// otherwise open to everyone) is refused the same way by every operation
// that reads it, LoadInto, Locked.Load, Locked.Touch and CompareAndSwap
// (TestPermissionDenied: Load and Touch): ErrRefused, which matches
// fs.ErrPermission; its lock is still taken, Range passes over it, and the
// record is left as it was. Each error says what to do (chown -R), as
// does a lock of a session whose lock file is another user's. As root,
// the operations run in a child as user nobody.
func TestPermissionDeniedRecordEveryOperation(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to run a child as another user")
	}
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := openDir(t, dir)
	id := newID(t)
	if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	// And a session on another lock file, which root made (sessgc or
	// an app run as root once) with the mode the store gives it.
	id2 := newID(t)
	for s.StripeForTest(id2) == s.StripeForTest(id) {
		id2 = newID(t)
	}
	l, err := s.Lock(context.Background(), id2, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	lock2 := filepath.Join(dir, fsstore.LockDir, s.StripeForTest(id2))
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			return os.Chmod(p, 0o777)
		case strings.Contains(p, "/data/"), p == lock2: // the record, the lock file
			return os.Chmod(p, 0o600)
		}
		return os.Chmod(p, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := listTree(t, filepath.Join(dir, fsstore.DataDir))
	const nobody = 65534
	kid := startChild(t, "perm-ops", []string{"STORE_DIR=" + dir, "STORE_ID=" + id, "STORE_ID2=" + id2},
		asUser(nobody, nobody, binary), func(c *exec.Cmd) { c.Dir = base })
	for _, want := range []string{
		"loadinto refused: ",
		"lock ok",
		"locked-load refused: ",
		"locked-touch refused: ",
		"cas refused: ",
		"range ok",
		"lock2 permission: ",
	} {
		op, _, _ := strings.Cut(want, " ")
		got := kid.Expect(t, op+" ")
		if !strings.HasPrefix(got, want) || (strings.Contains(want, ": ") && !strings.Contains(got, "permission denied")) {
			t.Errorf("as uid %d: %q, want %q... naming the permission denied", nobody, got, want)
		}
		// What to do: the bare EACCES named neither the cause nor the
		// fix, for the record nor for the lock file every session on
		// it fails on.
		if strings.Contains(want, ": ") && !strings.Contains(got, "chown -R USER "+dir) {
			t.Errorf("as uid %d: %q does not say what to do (chown -R USER %s)", nobody, got, dir)
		}
	}
	kid.Finish(t)
	if after := listTree(t, filepath.Join(dir, fsstore.DataDir)); after != before {
		t.Errorf("the data directory changed:\n%s\n---\n%s", before, after)
	}
	mustLoad(t, s, id, "secret")
}
