package pass

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

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
