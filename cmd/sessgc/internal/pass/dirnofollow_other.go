//go:build !unix

package pass

import (
	"fmt"
	"os"
)

// openDirNoFollow opens the directory p for listing, refusing a symlink or
// anything else that is not a directory seen at p first (no O_NOFOLLOW
// here).
func openDirNoFollow(p string) (*os.File, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", p)
	}
	return os.Open(p)
}
