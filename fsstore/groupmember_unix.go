//go:build unix

package fsstore

import (
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// inGroupOf reports whether the process is a member of fi's group, as its
// effective group or a supplementary one.
func inGroupOf(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	gid := int(st.Gid)
	if os.Getegid() == gid {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}

// ownedByOther reports whether a file of fis belongs to a user other than
// the process's effective one: a sign that other users' processes share
// the store.
func ownedByOther(fis ...fs.FileInfo) bool {
	for _, fi := range fis {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
			return true
		}
	}
	return false
}

// fileIDs returns the numeric user and group that own fi.
func fileIDs(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
