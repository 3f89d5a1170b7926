//go:build unix

package fsstore

import (
	"io/fs"
	"os"
	"syscall"
)

// stickyDenied returns why this process may not remove (or move aside)
// the file at path from its directory, whose attributes are dir, by the
// sticky bit's rule: in a directory with the bit set, only the owner of
// the file or of the directory, or a process privileged over the file's
// owner (fownerOver), may. A dry run asked only whether the directory
// was writable, and said "would remove" of the files the real run then
// failed to (EPERM) in a shared sticky directory. nil: it may, or the
// file cannot be looked at, which the real run reports itself.
func stickyDenied(dir fs.FileInfo, path string) error {
	if dir == nil || dir.Mode()&fs.ModeSticky == 0 {
		return nil
	}
	euid := uint32(os.Geteuid())
	if st, ok := dir.Sys().(*syscall.Stat_t); !ok || st.Uid == euid {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == euid || fownerOver(st.Uid, st.Gid) {
		return nil
	}
	return syscall.EPERM
}
