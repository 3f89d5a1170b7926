package cmdutil

import "testing"

// TestIDMapped: the ids a user namespace maps, as OverridesSticky asks
// for a textfile's owner: every id in the initial namespace, and in
// another the ids of its ranges but the overflow id, which every unmapped
// owner shows as.
func TestIDMapped(t *testing.T) {
	const initial = "         0          0 4294967295\n"
	const unshareR = "         0       1000          1\n"                                   // unshare -U -r as uid 1000
	const rootless = "         0       1000          1\n         1     100000      65536\n" // rootless podman
	for _, tc := range []struct {
		name, idMap string
		id          uint32
		want        bool
	}{
		{"initial, root", initial, 0, true},
		{"initial, nobody", initial, 65534, true},
		{"unshare -r, itself", unshareR, 0, true},
		{"unshare -r, another user", unshareR, 65534, false},
		{"unshare -r, outside the range", unshareR, 1, false},
		{"rootless, a subordinate id", rootless, 1000, true},
		{"rootless, the overflow id", rootless, 65534, false},
		{"empty map", "", 0, false},
	} {
		if got := idMapped(tc.idMap, 65534, tc.id); got != tc.want {
			t.Errorf("%s: idMapped(%d) = %v, want %v", tc.name, tc.id, got, tc.want)
		}
	}
}
