//go:build unix && !linux

package fstab

// IsMountPoint: see devMountPoint.
func IsMountPoint(point string) bool { return devMountPoint(point) }
