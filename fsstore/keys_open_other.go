//go:build !unix

package fsstore

import "os"

// openKeysFile opens a keys file for reading. There is no FIFO in the
// file system here to block the open; KeysFromFile refuses what is not a
// regular file.
func openKeysFile(path string) (*os.File, error) { return os.Open(path) }
