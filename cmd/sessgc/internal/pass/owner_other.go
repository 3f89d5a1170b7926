//go:build !unix

package pass

import (
	"io/fs"

	"github.com/sessfs/sessfs/fsstore"
)

// CheckOwner: see owner_unix.go.
func CheckOwner(string) error { return nil }

func storePermissions(string) []fsstore.Option { return nil }

// storeFileMode: see owner_unix.go.
func storeFileMode(string) fs.FileMode { return 0o600 }

// replaceable: see owner_unix.go. Elsewhere no sticky bit restricts a
// rename.
func replaceable(string, fs.FileInfo, fs.FileInfo, int, stickyPriv) error { return nil }
