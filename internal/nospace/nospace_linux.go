// Package nospace explains a "no space left on device" (ENOSPC) that a
// file system with free space gives: its inodes are used up, and every
// new file needs one. df -h shows space free then, which sent operators
// looking everywhere but df -i.
package nospace

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Explain returns err, an error of a file's creation in the directory
// open as dirfd, with the cause added when it is ENOSPC and that file
// system has no free inodes but free blocks; any other err as it is. It
// asks the file system only for an ENOSPC, so a creation that succeeds
// costs nothing. The result still matches ENOSPC (errors.Is).
func Explain(dirfd int, err error) error {
	if !errors.Is(err, unix.ENOSPC) {
		return err
	}
	var st unix.Statfs_t
	if unix.Fstatfs(dirfd, &st) != nil || st.Files == 0 || st.Ffree != 0 || st.Bavail == 0 {
		return err
	}
	return fmt.Errorf("%w: the file system has free space but no free inodes (df -i), and each file takes one; remove files, or give it more inodes (tmpfs nr_inodes, mkfs -N)", err)
}
