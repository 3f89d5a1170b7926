//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package lock

import "golang.org/x/sys/unix"

// ofdLock is never reached here: only Linux's NFS server is recognised
// (exportOf), so flockBackend.ofd is never set.
func ofdLock(int, int16) error { return unix.ENOTSUP }
