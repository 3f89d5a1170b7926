//go:build unix

package fsstore

import (
	"errors"
	"os"
	"syscall"
)

// openKeysFile opens a keys file for reading without blocking: open(2) of
// a FIFO for reading waits for a writer, which may never come, and would
// hang Open or the keys file watcher (and with it Close). KeysFromFile
// then refuses what is not a regular file, before it reads.
func openKeysFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EOPNOTSUPP) {
		// A socket (or a device with no driver): only non-regular files
		// fail so.
		return nil, errNotRegular
	}
	return f, err
}
