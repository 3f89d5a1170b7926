//go:build !unix && !windows

package lock

import (
	"io/fs"
	"os"
)

// openFile opens a lock directory's file (see the Windows version).
func openFile(path string, flags int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flags, perm)
}

// removeFile removes a lock directory's file.
func removeFile(path string, _ func(string), _ func() bool) error { return os.Remove(path) }
