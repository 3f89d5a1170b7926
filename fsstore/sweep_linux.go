package fsstore

import (
	"time"

	"golang.org/x/sys/unix"
)

// statFreshForced: statID asks the server past the attribute cache
// (AT_STATX_FORCE_SYNC), so its success is the server's answer.
const statFreshForced = true

// statID returns the identity of name in dfd (no symlink followed) from the
// file server, not from this client's attribute cache: statx with
// AT_STATX_FORCE_SYNC sends a GETATTR on NFS, by the cached file handle:
// call Store.revalidateName first for the name's current file.
func statID(dfd int, name string) (fileID, string, error) {
	var stx unix.Statx_t
	_, err := retryEINTR(func() (int, error) {
		return 0, unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_FORCE_SYNC,
			unix.STATX_INO|unix.STATX_NLINK|unix.STATX_MTIME, &stx)
	})
	return fileID{ino: stx.Ino, dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), nlink: stx.Nlink,
		mtime: time.Unix(stx.Mtime.Sec, int64(stx.Mtime.Nsec))}, "statx", err
}
