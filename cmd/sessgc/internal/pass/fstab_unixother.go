//go:build unix && !linux

package pass

// isMountPoint: see devMountPoint.
func isMountPoint(point string) bool { return devMountPoint(point) }
