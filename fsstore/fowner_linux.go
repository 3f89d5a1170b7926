package fsstore

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fownerOver reports whether this process's privilege lets it remove a
// file of uid and gid from another user's sticky directory: CAP_FOWNER in
// its effective set (not uid 0: root without it, a container that drops
// it, may not; a user given it may), and only over a file whose owner and
// group its user namespace maps (the kernel's capable_wrt_inode_uidgid),
// which an unmapped one shows as the overflow id. Capabilities that
// cannot be read count as root's, which has them unless they were dropped.
func fownerOver(uid, gid uint32) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	capable := os.Geteuid() == 0
	if err := unix.Capget(&hdr, &data[0]); err == nil {
		capable = data[unix.CAP_FOWNER/32].Effective&(1<<(unix.CAP_FOWNER%32)) != 0
	}
	return capable && !overflowID("/proc/sys/kernel/overflowuid", uid) && !overflowID("/proc/sys/kernel/overflowgid", gid)
}

// overflowID reports whether id is the one the kernel shows an id
// unmapped in this user namespace as, per file.
func overflowID(file string, id uint32) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 32)
	return err == nil && uint32(n) == id
}
