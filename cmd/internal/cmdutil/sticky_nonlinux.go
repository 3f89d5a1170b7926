//go:build unix && !linux

package cmdutil

import (
	"io/fs"
	"os"
)

// OverridesSticky says whether this process may rename over file in a
// directory with the sticky bit whoever owns it: elsewhere than Linux,
// only root may.
func OverridesSticky(fs.FileInfo) StickyPriv {
	if os.Geteuid() == 0 {
		return StickyOverrides
	}
	return StickyNone
}

// UIDMapped: see sticky_linux.go. User namespaces are Linux's.
func UIDMapped(uint32) bool { return true }
