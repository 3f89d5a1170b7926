package pass

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// TestIDMapped: the ids a user namespace maps, as overridesSticky asks
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

// TestReplaceableUnmapped: root of a user namespace that does not map the
// textfile's owner has CAP_FOWNER, but not over that file: refused, with
// the reason, rather than let through to fail the rename after the pass.
func TestReplaceableUnmapped(t *testing.T) {
	sticky := fs.ModeDir | fs.ModeSticky | 0o777
	err := replaceable("/d/sessgc.prom", statInfo{sticky, 65534}, statInfo{0o644, 65534}, 0, privUnmapped)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "belongs to a user that this process's user namespace does not map (it shows as uid 65534)") {
		t.Errorf("replaceable: %v; want a usage error naming the user namespace", err)
	}
}
