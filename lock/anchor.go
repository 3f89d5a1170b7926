package lock

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/sessfs/sessfs/internal/cwd"
)

// anchor returns path made absolute against the working directory of
// now, for a path the package reaches again later (a FileLock's Verify,
// a lock directory checked or, on Windows, opened by path, a LeaseDir
// opened at its first call): a relative path names what it named at the
// call given it, not what it names after the process changed directory.
// Read again from a new working directory, it made Verify report a lock
// lost, and on Windows put a lease file where no other process looks.
//
// On Unix the working directory is the kernel's name of it (getcwd), not
// $PWD, which os.Getwd prefers: $PWD may name it through a symlink, and a
// deploy that points that symlink at the next release would turn the
// anchored path to another directory while the relative one, resolved
// from the working directory itself, still named the old one (Verify
// then reported the lock lost, a LeaseDir looked in the new release).
// The working directory is joined as it is, not cleaned: the kernel
// resolves "link/../x" through the link's target, and filepath.Abs
// would name another file. Windows resolves ".." by name, as
// filepath.Abs does. A working directory that cannot be named (one
// removed) leaves path as it is: it opens nothing more now than later.
func anchor(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	if runtime.GOOS == "windows" {
		if abs, err := filepath.Abs(path); err == nil {
			return abs
		}
		return path
	}
	wd, err := cwd.Get()
	if err != nil || !filepath.IsAbs(wd) {
		return path
	}
	if !os.IsPathSeparator(wd[len(wd)-1]) { // "/"
		wd += string(filepath.Separator)
	}
	return wd + path
}
