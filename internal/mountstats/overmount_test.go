package mountstats

import (
	"strings"
	"testing"
)

// TestParseAutofsOvermount: an NFS mount under systemd's automount
// (fstab x-systemd.automount, autofs maps) is mounted on top of an autofs
// mount at the same point. /proc/self/mountstats then lists the autofs
// entry first; mountinfo.Lookup picks the NFS mount (the last one), so the
// RPC counts must come from the NFS entry, not fail on the autofs one.
func TestParseAutofsOvermount(t *testing.T) {
	const stats = `device rootfs mounted on / with fstype rootfs
device systemd-1 mounted on /mnt/efs with fstype autofs
device fs-0123.efs.us-east-1.amazonaws.com:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1
	opts:	rw,vers=4.1
	per-op statistics
	        OPEN: 40 40 0 1 1 0 0 0 0
	       CLOSE: 40 40 0 1 1 0 0 0 0
`
	c, err := Parse(strings.NewReader(stats), "/mnt/efs")
	if err != nil || c.String() != "CLOSE=40 OPEN=40" {
		t.Fatalf("Parse = %v, %v; want CLOSE=40 OPEN=40 from the nfs4 entry", c, err)
	}
}

// TestParseStackedMounts: an NFS export mounted twice on the same
// point (a remount with new options without unmounting first) hides the
// first mount; mountinfo.Lookup picks the last, visible one, whose
// counters are the ones that move. Parse takes the first, hidden one, so
// every RPC/OP reads 0.0.
func TestParseStackedMounts(t *testing.T) {
	const stats = `device srv:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1
	per-op statistics
	        OPEN: 5 5 0 1 1 0 0 0 0
device srv:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1
	per-op statistics
	        OPEN: 900 900 0 1 1 0 0 0 0
`
	c, err := Parse(strings.NewReader(stats), "/mnt/efs")
	if err != nil || c.String() != "OPEN=900" {
		t.Fatalf("Parse = %v, %v; want OPEN=900 from the visible (last) mount", c, err)
	}
}
