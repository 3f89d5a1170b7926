//go:build unix && !linux

package pass

import (
	"io/fs"
	"os"
)

// overridesSticky says whether this process may rename over file in a
// directory with the sticky bit whoever owns it: elsewhere than Linux,
// only root may.
func overridesSticky(fs.FileInfo) stickyPriv {
	if os.Geteuid() == 0 {
		return privOverrides
	}
	return privNone
}

// uidMapped: see sticky_linux.go. User namespaces are Linux's.
func uidMapped(uint32) bool { return true }
