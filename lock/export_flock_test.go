//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock

import "golang.org/x/sys/unix"

// SetCloseHook makes t, a Flock table, call hook before it closes a lock
// descriptor.
func SetCloseHook(t *Table, hook func()) {
	b := t.be.(*flockBackend)
	closeFd := b.closeFd
	b.closeFd = func(fd int) error {
		hook()
		return closeFd(fd)
	}
}

// SetNoLinkCounts makes t, a Flock table, see every lock file's link count
// as 0, as on a filesystem that counts no links.
func SetNoLinkCounts(t *Table) {
	b := t.be.(*flockBackend)
	b.fstat = func(fd int, st *unix.Stat_t) error {
		err := unix.Fstat(fd, st)
		st.Nlink = 0
		return err
	}
}
