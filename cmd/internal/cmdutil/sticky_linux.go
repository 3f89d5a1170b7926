package cmdutil

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// OverridesSticky says whether this process may rename over file in a
// directory with the sticky bit whoever owns it: on Linux that takes
// CAP_FOWNER, not uid 0. A process with the capability but another uid (a
// service given AmbientCapabilities=CAP_FOWNER) may, and root without it
// (a container that drops it) may not. The capability counts for a file
// only where this process's user namespace maps the file's owner and group
// (the kernel's capable_wrt_inode_uidgid): root of an unprivileged user
// namespace (unshare -U -r, a rootless container) holds every capability,
// but not over the files of users outside it, which it sees owned by the
// overflow uid; that is StickyUnmapped. When the capabilities cannot be
// read, root is assumed to hold them, as it does unless they were dropped.
func OverridesSticky(file fs.FileInfo) StickyPriv {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 reads 64 bits, in two halves
	capable := os.Geteuid() == 0
	if err := unix.Capget(&hdr, &data[0]); err == nil {
		capable = data[unix.CAP_FOWNER/32].Effective&(1<<(unix.CAP_FOWNER%32)) != 0
	}
	if !capable {
		return StickyNone
	}
	st, ok := file.Sys().(*syscall.Stat_t)
	if !ok {
		return StickyOverrides
	}
	if !UIDMapped(st.Uid) ||
		!mapped("/proc/self/gid_map", "/proc/sys/kernel/overflowgid", st.Gid) {
		return StickyUnmapped
	}
	return StickyOverrides
}

// UIDMapped reports whether this process's user namespace maps uid, a
// file's owner as it sees it (see mapped).
func UIDMapped(uid uint32) bool {
	return mapped("/proc/self/uid_map", "/proc/sys/kernel/overflowuid", uid)
}

// mapped reports whether id, as this process sees a file's owner (or
// group), is one its user namespace maps, from the namespace's map file
// and the overflow id file the kernel shows unmapped ids as. Files that
// cannot be read count as the initial namespace, which maps every id.
func mapped(mapFile, overflowFile string, id uint32) bool {
	m, err := os.ReadFile(mapFile)
	if err != nil {
		return true
	}
	o, err := os.ReadFile(overflowFile)
	overflow, perr := strconv.ParseUint(strings.TrimSpace(string(o)), 10, 32)
	if err != nil || perr != nil {
		overflow = 65534
	}
	return idMapped(string(m), uint32(overflow), id)
}

// idMapped reports whether id is mapped by idMap, the text of a
// /proc/PID/uid_map or gid_map ("inside outside count" lines). In the
// initial namespace, which maps every id to itself, always; elsewhere an
// id equal to overflow counts as unmapped, since every unmapped owner
// shows as that id: a file the namespace does map to it is taken for one
// it does not, and refused, rather than the other way round.
func idMapped(idMap string, overflow, id uint32) bool {
	for _, line := range strings.Split(idMap, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		inside, err1 := strconv.ParseUint(f[0], 10, 32)
		outside, err2 := strconv.ParseUint(f[1], 10, 32)
		count, err3 := strconv.ParseUint(f[2], 10, 33)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if inside == 0 && outside == 0 && count == 1<<32-1 {
			return true // the initial namespace
		}
		if id != overflow && uint64(id) >= inside && uint64(id)-inside < count {
			return true
		}
	}
	return false
}
