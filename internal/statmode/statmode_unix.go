//go:build unix

package statmode

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// Type returns the type bits of fs.FileMode for a stat's st_mode: those
// os.Lstat gives the same file, and fs.ModeIrregular for a type it does
// not know.
func Type(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
