package fsstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// POSIX ACL entry tags and the read permission, as the kernel keeps them
// in the system.posix_acl_access attribute (linux/posix_acl_xattr.h).
const (
	aclVersion  = 2
	aclUser     = 0x02 // a named user
	aclGroup    = 0x08 // a named group
	aclMask     = 0x10 // caps what named users and groups (and the owning group) get
	aclRead     = 0x04
	aclEntryLen = 8 // tag u16, perm u16, id u32, little-endian
)

// keysACLReaders names the users and groups other than root and this
// process's user that the keys file f's access ACL lets read it: "user
// 1001, group 50". The mode bits show the ACL's mask in place of the
// group's bits, so a root-owned 0640 file can still grant read to any
// other user or group (setfacl -m u:bob:r), which the mode check let
// through. A file system without ACLs (ENODATA, EOPNOTSUPP) has no
// such readers; an attribute that cannot be read or parsed is an error,
// rather than a check passed on what was not looked at.
func keysACLReaders(f *os.File) (string, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	var n int
	var gerr error
	cerr := rc.Control(func(fd uintptr) {
		for {
			n, gerr = unix.Fgetxattr(int(fd), "system.posix_acl_access", buf)
			if !errors.Is(gerr, unix.ERANGE) || len(buf) >= 64<<10 {
				return
			}
			buf = make([]byte, 2*len(buf))
		}
	})
	if cerr != nil {
		return "", cerr
	}
	switch {
	case errors.Is(gerr, unix.ENODATA), errors.Is(gerr, unix.EOPNOTSUPP), errors.Is(gerr, unix.ENOSYS):
		return "", nil
	case gerr != nil:
		return "", fmt.Errorf("read its ACL: %w", gerr)
	}
	return aclReaders(buf[:n], uint32(os.Geteuid()))
}

// aclReaders parses an access ACL in the kernel's xattr form and names
// the named users (other than root and me) and named groups its entries,
// as masked, let read.
func aclReaders(b []byte, me uint32) (string, error) {
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != aclVersion || (len(b)-4)%aclEntryLen != 0 {
		return "", errors.New("read its ACL: not a version 2 POSIX ACL")
	}
	mask := uint16(0o7) // no mask entry: no named entries either
	type entry struct {
		tag, perm uint16
		id        uint32
	}
	var named []entry
	for p := b[4:]; len(p) > 0; p = p[aclEntryLen:] {
		e := entry{binary.LittleEndian.Uint16(p), binary.LittleEndian.Uint16(p[2:]), binary.LittleEndian.Uint32(p[4:])}
		switch e.tag {
		case aclMask:
			mask = e.perm
		case aclUser, aclGroup:
			named = append(named, e)
		}
	}
	var who []string
	for _, e := range named {
		if e.perm&mask&aclRead == 0 {
			continue
		}
		switch {
		case e.tag == aclUser && (e.id == 0 || e.id == me):
			// Root, and this process's user, may read it anyway.
		case e.tag == aclUser:
			who = append(who, fmt.Sprintf("user %d", e.id))
		default:
			who = append(who, fmt.Sprintf("group %d", e.id))
		}
	}
	return strings.Join(who, ", "), nil
}
