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
// which an unmapped one shows as the overflow id (see unmapped). Capabilities that
// cannot be read count as root's, which has them unless they were dropped.
func fownerOver(uid, gid uint32) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	capable := os.Geteuid() == 0
	if err := unix.Capget(&hdr, &data[0]); err == nil {
		capable = data[unix.CAP_FOWNER/32].Effective&(1<<(unix.CAP_FOWNER%32)) != 0
	}
	return capable && !unmapped("/proc/self/uid_map", "/proc/sys/kernel/overflowuid", uid) &&
		!unmapped("/proc/self/gid_map", "/proc/sys/kernel/overflowgid", gid)
}

// unmapped reports whether id, as stat shows it, is one this process's
// user namespace does not map: the overflow id, where the namespace maps
// not every id. In the initial namespace, which maps them all, the
// overflow id is a user's like any other (nobody, whose files an NFS
// server's root_squash makes of root's), and was taken for an unmapped one.
func unmapped(idMap, overflow string, id uint32) bool {
	return !mapsAll(idMap) && overflowID(overflow, id)
}

// mapsAll reports whether the id map file (/proc/self/uid_map or
// gid_map) maps every id, as the initial user namespace's does.
func mapsAll(idMap string) bool {
	b, err := os.ReadFile(idMap)
	if err != nil {
		return false
	}
	f := bytes.Fields(b)
	return len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" && string(f[2]) == "4294967295"
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
