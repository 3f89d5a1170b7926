//go:build !windows

package cmdutil

import (
	"io"
	"io/fs"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// renameio does the temp file, fsync and rename (see its doc for why the
// fsync cannot be skipped). The temp directory is given so that renameio
// does not probe os.TempDir for a rename across it.
func writeFile(path string, perm fs.FileMode, write func(io.Writer) error) error {
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(perm))
	if err != nil {
		return err
	}
	defer f.Cleanup() // a no-op after CloseAtomicallyReplace
	if err := write(f); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}
