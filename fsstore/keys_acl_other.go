//go:build !linux

package fsstore

import "os"

// keysACLReaders: POSIX access ACLs are read on Linux only. Elsewhere the
// mode bits alone are checked (FreeBSD and macOS keep ACLs of their own,
// which Go's os package does not show).
func keysACLReaders(*os.File) (string, error) { return "", nil }
