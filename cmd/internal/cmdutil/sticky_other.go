//go:build !unix

package cmdutil

import "io/fs"

// OverridesSticky: see sticky_linux.go. Elsewhere than Unix no sticky bit
// restricts a rename.
func OverridesSticky(fs.FileInfo) StickyPriv { return StickyNone }

// UIDMapped: see sticky_linux.go.
func UIDMapped(uint32) bool { return true }

// StickyRefuses: see sticky_unix.go.
func StickyRefuses(fs.FileInfo, fs.FileInfo, int, StickyPriv) (uint32, bool) { return 0, false }
