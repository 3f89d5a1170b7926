//go:build unix

package fsstore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRootRefusesOtherUsersStore: an application run as root (a
// container's default user, a sudo to try it once) on a store another
// user owns, where the file system lets root write as root, is refused
// before it writes anything, as sessgc run refuses it. It opened, and
// the shard directories and records it created were root's: the app
// user's hosts could save no new session in those shards (a 500) and
// read none of the sessions root saved. A read-only or maintenance open
// (sessgc stats) creates nothing and is not refused; nor is root's own
// store, or a store made in a directory root owns.
func TestRootRefusesOtherUsersStore(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give the store another owner")
	}
	const user = 61004
	owned := func(t *testing.T, dir string) {
		t.Helper()
		must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, user, user)
		}))
	}
	notRoots := func(t *testing.T, dir string) {
		t.Helper()
		must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 {
				t.Errorf("%s is root's after the refused open", p)
			}
			return nil
		}))
	}
	check := func(t *testing.T, dir string) {
		t.Helper()
		s, err := fsstore.Open(dir)
		if err == nil {
			s.Close()
			t.Fatal("Open as root of another user's store succeeded; want it refused")
		}
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "uid 61004") || !strings.Contains(err.Error(), "run the application as") {
			t.Fatalf("Open as root of another user's store: %v; want fs.ErrPermission naming uid 61004 and saying to run the application as it", err)
		}
		notRoots(t, dir)
	}

	t.Run("store", func(t *testing.T) {
		dir := t.TempDir()
		s, err := fsstore.Open(dir)
		must(t, err)
		must(t, s.Close())
		owned(t, dir)
		check(t, dir)
		for _, opt := range []fsstore.Option{fsstore.WithReadOnly(), fsstore.WithMaintenanceOnly()} {
			s, err := fsstore.Open(dir, opt)
			if err != nil {
				t.Fatalf("Open as root with %v of another user's store: %v; want it opened (it creates nothing)", opt, err)
			}
			s.Close()
		}
	})
	t.Run("new store", func(t *testing.T) {
		// install -d -o app: the first app server to open it makes the
		// store, as the directory's owner.
		dir := t.TempDir()
		owned(t, dir)
		check(t, dir)
	})
	t.Run("group's store, root not in the group", func(t *testing.T) {
		// A store its group shares (marker 0660, data/ 2770) opened
		// by root with the default modes: root is in none of the
		// app's groups, so checkGroupAccess does not judge it, and the
		// shard directories it made were root's 0700, which the
		// group's app users could not enter.
		dir := t.TempDir()
		s, err := fsstore.Open(dir)
		must(t, err)
		must(t, s.Close())
		owned(t, dir)
		must(t, os.Chmod(dir, 0o2770))
		must(t, os.Chmod(filepath.Join(dir, fsstore.MarkerFile), 0o660))
		must(t, os.Chmod(filepath.Join(dir, fsstore.DataDir), 0o2770))
		check(t, dir)
	})
	t.Run("group's store, root with the group's modes", func(t *testing.T) {
		// What root creates there is the group's (setgid directories,
		// group-writable modes the umask lets through): not refused.
		dir := t.TempDir()
		must(t, os.Chmod(dir, 0o2770))
		old := syscall.Umask(0o007)
		defer syscall.Umask(old)
		group := fsstore.WithPermissions(0o660, os.ModeSetgid|0o770)
		s, err := fsstore.Open(dir, group)
		must(t, err)
		must(t, s.Close())
		owned(t, dir)
		s, err = fsstore.Open(dir, group)
		if err != nil {
			t.Fatalf("Open as root, with the group's modes, of a group's store: %v; want it opened", err)
		}
		s.Close()
	})
	t.Run("roots", func(t *testing.T) {
		dir := t.TempDir()
		s, err := fsstore.Open(dir)
		must(t, err)
		must(t, s.Close())
		s, err = fsstore.Open(dir)
		if err != nil {
			t.Fatalf("Open as root of root's store: %v", err)
		}
		s.Close()
	})
}
