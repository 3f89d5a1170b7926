//go:build unix

package pass

import (
	"os"
	"syscall"
)

// openDirNoFollow opens the directory p for listing: a symlink at p is
// refused (ELOOP), and anything else that is not a directory fails at the
// look-up (ENOTDIR), before a FIFO's open could wait for a writer.
func openDirNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
