//go:build linux || darwin || freebsd

package fstarget

import (
	"math"
	"runtime"

	"golang.org/x/sys/unix"
)

// FreeSpace returns the bytes an unprivileged user may still write on the
// file system holding dir, and its block size.
func FreeSpace(dir string) (free, block int64, ok bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, false, err
	}
	if st.Bsize <= 0 {
		return 0, 0, false, nil
	}
	// Signed on FreeBSD, where it goes below zero once the reserve
	// kept for root is in use; unsigned elsewhere, where a value past
	// MaxInt64 is a file system saying "unlimited", not a full one.
	if runtime.GOOS == "freebsd" && int64(st.Bavail) < 0 {
		return 0, int64(st.Bsize), true, nil
	}
	avail, bsize := uint64(st.Bavail), uint64(st.Bsize)
	if avail > math.MaxInt64/bsize {
		return math.MaxInt64, int64(bsize), true, nil
	}
	return int64(avail * bsize), int64(bsize), true, nil
}

// readSpace reads what tells the file system holding dir apart (see
// space).
func readSpace(dir string) (space, bool) {
	var st unix.Stat_t
	var fs unix.Statfs_t
	if unix.Stat(dir, &st) != nil || unix.Statfs(dir, &fs) != nil {
		return space{}, false
	}
	// Converted: the fields' types differ between systems.
	return space{dev: uint64(st.Dev), bsize: uint64(fs.Bsize), blocks: uint64(fs.Blocks), avail: uint64(fs.Bavail)}, true
}
