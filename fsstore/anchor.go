package fsstore

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/sessfs/sessfs/internal/cwd"
)

// absDir makes dir, the store's directory as Open was given it, absolute
// against the working directory, by the kernel's name of that directory
// (getcwd), as package lock anchors a relative path. filepath.Abs, which
// Open used, prefers $PWD, which names the working directory the way the
// shell reached it: through a deploy's "current" symlink, say. Once a
// deploy pointed that link at the next release, the store's path named
// the new release's directory while the process still ran in the old
// one: its lock directory, checked by path, seemed replaced (every lock
// lost), and whatever the store reaches by path went to another store.
// The path is then cleaned, as filepath.Abs cleans it: a dir of
// "link/../x" names x beside link, not beside link's target, as before.
// Windows has no such working-directory name, and keeps filepath.Abs.
func absDir(dir string) (string, error) {
	if filepath.IsAbs(dir) || runtime.GOOS == "windows" {
		return filepath.Abs(dir)
	}
	wd, err := cwd.Get()
	if err != nil {
		// Said so: "open sessions: no such file or directory" sent the
		// operator after a store directory that may well exist.
		return "", fmt.Errorf("the working directory, which a relative directory is taken in, cannot be named (removed since the process entered it, or a path too long): getcwd: %w", err)
	}
	return filepath.Join(wd, dir), nil
}
