//go:build !unix

package pass

import "github.com/sessfs/sessfs/fsstore"

// CheckOwner: see owner_unix.go.
func CheckOwner(string) error { return nil }

func storePermissions(string) []fsstore.Option { return nil }

func createLockFile(string, string) {}
