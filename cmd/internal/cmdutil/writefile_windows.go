package cmdutil

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// renameio has no Windows implementation. The same steps by hand: os.Rename
// is MoveFileEx with MOVEFILE_REPLACE_EXISTING there, which replaces the
// file in one step on NTFS. Windows has no mode bits beyond read-only, so
// perm is not applied.
func writeFile(path string, _ fs.FileMode, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
