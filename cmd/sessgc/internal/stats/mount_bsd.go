//go:build darwin || freebsd

package stats

import "golang.org/x/sys/unix"

// mountOf names the file system that holds dir, from statfs, which on
// macOS and FreeBSD gives its type ("nfs", "apfs", "zfs"), source and
// mount point. dir is the open store's: on a hung mount statfs waits for
// the server, so it runs under the census's watchdog.
func mountOf(dir string) mount {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return mount{}
	}
	return mount{
		Type:   unix.ByteSliceToString(st.Fstypename[:]),
		Source: unix.ByteSliceToString(st.Mntfromname[:]),
		Point:  unix.ByteSliceToString(st.Mntonname[:]),
	}
}
