package run

import (
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
)

// TestHelpShowsTheFlagsThatMatterFirst: run --help fits about a screen
// and a half and lists the store, what the pass does and its output
// before the flags that tune it. It took 95 lines, the flags after 56
// lines of reference text (now "sessgc help run-passes"), in one
// alphabetical block where --dry-run sat between --dir and --fleet-lock-ttl.
func TestHelpShowsTheFlagsThatMatterFirst(t *testing.T) {
	cmdtest.HelpShowsFirst(t, NewCmdRun, 70, []string{"dir", "missing-ok", "dry-run", "max-duration", "rate", "quiet", "verbose", "json", "textfile"})
}
