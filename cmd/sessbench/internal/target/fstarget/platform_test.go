package fstarget

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCheckDirRefusesPlatformFirst: where the store does not run
// (Windows), a --dir is refused for that, whatever it holds. A missing one
// was answered "create it first (mkdir ...)", and once made, with the
// platform's refusal. The package's tests do not run on such a platform
// (TestMain), so the platform is given.
func TestCheckDirRefusesPlatformFirst(t *testing.T) {
	for _, tc := range []struct{ name, dir string }{
		{"missing", filepath.Join(t.TempDir(), "bench")},
		{"existing", t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDir(tc.dir, false)
			if !errors.Is(err, fsstore.ErrNotSupported) || strings.Contains(err.Error(), "create it first") {
				t.Errorf("checkDir(%s) where the store does not run: %v; want the platform refused (fsstore.ErrNotSupported), not a directory to make", tc.name, err)
			}
			if err := checkDir(tc.dir, true); errors.Is(err, fsstore.ErrNotSupported) {
				t.Errorf("checkDir(%s) where the store runs: %v", tc.name, err)
			}
		})
	}
}
