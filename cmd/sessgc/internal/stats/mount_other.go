//go:build !linux && !darwin && !freebsd

package stats

// mountOf: see mount_linux.go. Elsewhere (Windows, where the store does
// not run) the file system is not named.
func mountOf(string) mount { return mount{} }
