package lock

import (
	"io"

	"golang.org/x/sys/unix"
)

// ofdLock takes (typ F_WRLCK) or releases (F_UNLCK) a whole-file open
// file description lock on fd without waiting, retrying on EINTR. Like a
// flock it belongs to the open file, not the process, so the Table's use
// of it is the same; unlike a flock it conflicts with the byte-range
// locks Linux's NFS server takes for its clients (see flockBackend.ofd).
// A conflict is EWOULDBLOCK, as flock's.
func ofdLock(fd int, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: io.SeekStart}
	for {
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
		switch err {
		case unix.EINTR:
			continue
		case unix.EACCES:
			return unix.EWOULDBLOCK
		}
		return err
	}
}
