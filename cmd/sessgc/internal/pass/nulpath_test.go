package pass

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestPathFlagRefusesNUL holds that a path flag (--dir, --keys-file,
// --textfile) given a path holding a NUL byte, as only a program running
// the command can give it, fails naming the flag and the byte.
func TestPathFlagRefusesNUL(t *testing.T) {
	f := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var p string
	PathVarP(f, &p, "dir", "d", "", "")
	err := f.Parse([]string{"--dir", "/a\x00b"})
	if err == nil || !strings.Contains(err.Error(), `--dir "/a\x00b": the path holds a NUL byte`) {
		t.Fatalf("got %v (dir %q), want an error naming --dir and the NUL byte", err, p)
	}
}
