//go:build unix

package fsstore_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileModes: the keys file's mode is refused when group or
// others may read it (a root-owned file's group excepted) or write it,
// and the error says which, where a file only group- or other-writable
// was refused as "readable by group or others".
func TestKeysFileModes(t *testing.T) {
	root := os.Geteuid() == 0
	for _, tc := range []struct {
		mode fs.FileMode
		want string // "" accepted; otherwise in the error
	}{
		{0o600, ""},
		{0o400, ""},
		{0o644, "readable by group or others"},
		{0o604, "readable by group or others"},
		{0o620, "writable by group or others"},
		{0o602, "writable by group or others"},
		{0o660, map[bool]string{true: "writable by group or others", false: "readable and writable by group or others"}[root]},
		{0o666, "readable and writable by group or others"},
		{0o640, map[bool]string{true: "", false: "readable by group or others"}[root]},
		{0o440, map[bool]string{true: "", false: "readable by group or others"}[root]},
	} {
		p := filepath.Join(t.TempDir(), "keys")
		must(t, os.WriteFile(p, []byte(mustKey(t, 1).SecretLine()+"\n"), 0o600))
		must(t, os.Chmod(p, tc.mode))
		// Left alone for long: read once, with no wait for a writer.
		old := time.Now().Add(-time.Hour)
		must(t, os.Chtimes(p, old, old))
		_, err := fsstore.KeysFromFile(p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("mode %v: %v", tc.mode, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("mode %v: error %v, want one saying %q", tc.mode, err, tc.want)
		}
	}
}
