//go:build unix

package cmdutil

import (
	"io/fs"
	"os"
	"syscall"
)

// StickyRefuses reports whether the user euid, with priv (see
// OverridesSticky), may not rename a file over file in dir, its
// directory, and file's owner: with dir's sticky bit only file's owner,
// dir's owner and a privileged process may (rename fails with EPERM),
// however writable dir is. A file written by a temp file renamed over it
// (WriteFile) checks this before the work whose result it is, which would
// otherwise be lost at the end.
func StickyRefuses(dir, file fs.FileInfo, euid int, priv StickyPriv) (owner uint32, refused bool) {
	dst, ok1 := dir.Sys().(*syscall.Stat_t)
	fst, ok2 := file.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 || dir.Mode()&os.ModeSticky == 0 || priv == StickyOverrides || int(fst.Uid) == euid || int(dst.Uid) == euid {
		return 0, false
	}
	return fst.Uid, true
}
