//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock

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
