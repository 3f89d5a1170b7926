//go:build !unix

package fsstore

import "io/fs"

// ownedByRoot: no root to own a file here.
func ownedByRoot(fs.FileInfo) bool { return false }
