package cmdutil

// StickyPriv is what this process's privilege makes of the sticky bit's
// rule (only the owner of a file or of its directory may replace it) for
// one file; see OverridesSticky.
type StickyPriv int

const (
	// StickyNone: no privilege; the rule holds.
	StickyNone StickyPriv = iota
	// StickyOverrides: the process may replace the file whoever owns it.
	StickyOverrides
	// StickyUnmapped: privileged, but in a user namespace that does not
	// map the file's owner or group, over which the privilege does not
	// extend: the rule holds.
	StickyUnmapped
)
