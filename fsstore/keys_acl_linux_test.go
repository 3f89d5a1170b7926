package fsstore_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileACLReaders: a keys file whose mode passes the check (root's,
// 0640, or 0600) but whose POSIX ACL lets another user or group read it is
// refused as one whose mode does, by KeysFromFile and by Open
// WithKeysFile: the mode bits show only the ACL's mask, and setfacl -m
// u:bob:r on a root-owned 0640 file was let through. An ACL entry for
// this process's own user, or one the mask takes read from, grants no
// one else anything, and the file is read.
func TestKeysFileACLReaders(t *testing.T) {
	if os.Geteuid() != 0 {
		// The only mode an ACL's reader hides behind is a root-owned
		// 0640 (others have their own rules below, tested as any user).
		t.Skip("the keys file must be root's for its 0640 to pass the mode check: run as root")
	}
	const other = 4242 // no user or group of this host need have it
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		acl     string // setfacl -m's argument
		refused string // what the error names; "": read
	}{
		{"named user", 0o640, fmt.Sprintf("u:%d:r", other), fmt.Sprintf("user %d", other)},
		{"named group", 0o640, fmt.Sprintf("g:%d:r", other), fmt.Sprintf("group %d", other)},
		{"masked out", 0o640, fmt.Sprintf("u:%d:r,m::-", other), ""},
		{"own user", 0o640, fmt.Sprintf("u:%d:r", os.Geteuid()), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys")
			writeFile0600(t, p, keysFileText(mustKey(t, 1)))
			must(t, os.Chmod(p, tc.mode))
			setACL(t, p, tc.acl)
			_, err := fsstore.KeysFromFile(p)
			s, oerr := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p))
			if oerr == nil {
				s.Close()
			}
			for what, err := range map[string]error{"KeysFromFile": err, "Open WithKeysFile": oerr} {
				switch {
				case tc.refused == "" && err != nil:
					t.Errorf("%s: %v; want the keys read: the ACL lets no one else read them", what, err)
				case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), "ACL") || !strings.Contains(err.Error(), tc.refused)):
					t.Errorf("%s of a keys file that setfacl -m %s let %s read: %v; want it refused, naming the ACL and %s", what, tc.acl, tc.refused, err, tc.refused)
				}
			}
		})
	}
}

// setACL gives the file p the ACL entries spec (setfacl -m syntax, for
// numeric users and groups, masks and no more), with setfacl where it is
// installed, else by writing the attribute the kernel keeps it in, and
// skips the test where the file system has no ACLs.
func setACL(t *testing.T, p, spec string) {
	t.Helper()
	if _, err := exec.LookPath("setfacl"); err == nil {
		out, err := exec.Command("setfacl", "-m", spec, p).CombinedOutput()
		if err != nil && strings.Contains(string(out), "Operation not supported") {
			t.Skipf("no POSIX ACLs on the file system of %s: %s", p, out)
		}
		if err != nil {
			t.Fatalf("setfacl -m %s: %v: %s", spec, err, out)
		}
		return
	}
	fi, err := os.Stat(p)
	must(t, err)
	perm := uint16(fi.Mode().Perm())
	entries := map[uint16][]uint32{} // tag: perm, id
	put := func(tag, perm uint16, id uint32) { entries[tag] = append(entries[tag], uint32(perm), id) }
	put(0x01, perm>>6&7, ^uint32(0))
	put(0x04, perm>>3&7, ^uint32(0))
	put(0x20, perm&7, ^uint32(0))
	mask := perm >> 3 & 7
	for _, e := range strings.Split(spec, ",") {
		f := strings.Split(e, ":")
		bits := uint16(0)
		if strings.Contains(f[2], "r") {
			bits = 4
		}
		var id uint64
		fmt.Sscan(f[1], &id)
		switch f[0] {
		case "u":
			put(0x02, bits, uint32(id))
			mask |= bits
		case "g":
			put(0x08, bits, uint32(id))
			mask |= bits
		case "m":
			mask = bits
		}
	}
	put(0x10, mask, ^uint32(0))
	acl := binary.LittleEndian.AppendUint32(nil, 2)
	for _, tag := range []uint16{0x01, 0x02, 0x04, 0x08, 0x10, 0x20} {
		for i := 0; i < len(entries[tag]); i += 2 {
			acl = binary.LittleEndian.AppendUint16(acl, tag)
			acl = binary.LittleEndian.AppendUint16(acl, uint16(entries[tag][i]))
			acl = binary.LittleEndian.AppendUint32(acl, entries[tag][i+1])
		}
	}
	err = unix.Setxattr(p, "system.posix_acl_access", acl, 0)
	if errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("no POSIX ACLs on the file system of %s", p)
	}
	must(t, err)
}
