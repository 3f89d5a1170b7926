package pass

import (
	"os"

	"golang.org/x/sys/unix"
)

// overridesSticky reports whether this process may rename over any file
// in a directory with the sticky bit: on Linux that takes CAP_FOWNER, not
// uid 0. A process with the capability but another uid (a service given
// AmbientCapabilities=CAP_FOWNER) may, and root without it (a container
// that drops it) may not. When the capabilities cannot be read, root is
// assumed to hold them, as it does unless they were dropped.
func overridesSticky() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 reads 64 bits, in two halves
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	return data[unix.CAP_FOWNER/32].Effective&(1<<(unix.CAP_FOWNER%32)) != 0
}
