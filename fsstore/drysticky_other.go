//go:build !unix

package fsstore

import "io/fs"

// stickyDenied has no sticky bit to judge here.
func stickyDenied(fs.FileInfo, string) error { return nil }
