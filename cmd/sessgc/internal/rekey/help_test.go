package rekey

import (
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
)

// TestHelpShowsTheFlagsThatMatterFirst: rekey --help fits about a screen
// and a half and lists the store and its keys, what the pass does and its
// output before the flags that tune it. It took 87 lines, the flags after
// 58 lines of text (the keys file's checks, plaintext records and the
// fleet lock are now "sessgc help rekey-keys"), in one alphabetical block.
func TestHelpShowsTheFlagsThatMatterFirst(t *testing.T) {
	cmdtest.HelpShowsFirst(t, NewCmdRekey, 75, []string{"dir", "keys-file", "migrate-plaintext", "max-duration", "rate", "quiet", "json", "textfile"})
}
