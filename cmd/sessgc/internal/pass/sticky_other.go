//go:build unix && !linux

package pass

import "os"

// overridesSticky reports whether this process may rename over any file
// in a directory with the sticky bit: elsewhere than Linux, only root may.
func overridesSticky() bool { return os.Geteuid() == 0 }
