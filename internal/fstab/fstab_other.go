//go:build !unix

package fstab

// IsMountPoint: see fstab_unix.go. Without /etc/fstab there is nothing
// to check against.
func IsMountPoint(string) bool { return true }
