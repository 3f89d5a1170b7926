//go:build linux

package fsstore_test

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestGroupStoreDefaultACLTakesNoUmask: a store its group shares through a
// default ACL on its directories (setfacl -d -m g::rwx, what many
// operators use instead of the umask), opened by hosts with
// WithPermissions(0o660, 0o2770) and the distribution's umask 0022. In a
// directory with a default ACL the kernel does not apply the umask (the
// ACL takes its place), so those hosts create records the group can use
// and must not be refused for their umask.
// The umask is the process's: not parallel.
func TestGroupStoreDefaultACLTakesNoUmask(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chmod(dir, os.ModeSetgid|0o770))
	old := syscall.Umask(0o007)
	defer syscall.Umask(old)
	s, err := fsstore.Open(dir, fsstore.WithPermissions(0o660, os.ModeSetgid|0o770))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// setfacl -R -d -m u::rwx,g::rwx,o::--- on every directory.
	acl := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range []struct{ tag, perm uint16 }{{0x01, 7}, {0x04, 7}, {0x20, 0}} {
		acl = binary.LittleEndian.AppendUint16(acl, e.tag)
		acl = binary.LittleEndian.AppendUint16(acl, e.perm)
		acl = binary.LittleEndian.AppendUint32(acl, 0xffffffff)
	}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syscall.Setxattr(p, "system.posix_acl_default", acl, 0)
	}))
	syscall.Umask(0o022)
	probe := filepath.Join(dir, fsstore.DataDir, "probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_WRONLY, 0o660)
	if errors.Is(err, syscall.ENOTSUP) {
		t.Skip("no POSIX ACLs here")
	}
	must(t, err)
	f.Close()
	fi, err := os.Stat(probe)
	must(t, err)
	must(t, os.Remove(probe))
	if fi.Mode().Perm() != 0o660 {
		t.Skipf("a file created 0660 under umask 0022 in a directory with a default ACL is %v: the umask applies here", fi.Mode())
	}

	s, err = fsstore.Open(dir, fsstore.WithPermissions(0o660, os.ModeSetgid|0o770))
	if err != nil {
		t.Fatalf("a host with the group's modes and umask 0022, in a store whose directories carry a default ACL: %v", err)
	}
	defer s.Close()
	id, err := fsstore.NewID()
	must(t, err)
	must(t, s.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte("x")}))
	must(t, filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if want := fs.FileMode(0o060); d.IsDir() {
			want = 0o070
			if fi.Mode().Perm()&want != want {
				t.Errorf("%s: %v, not the group's", p, fi.Mode())
			}
		} else if fi.Mode().Perm()&want != want {
			t.Errorf("%s: %v, not the group's", p, fi.Mode())
		}
		return nil
	}))
}
