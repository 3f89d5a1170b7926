package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
)

// renameio has no Windows implementation. The same steps by hand. Windows
// has no mode bits beyond read-only, so perm is not applied.
//
// The rename goes through os.Root, which asks for POSIX semantics
// (FileRenameInformationEx with FILE_RENAME_POSIX_SEMANTICS: NTFS on
// Windows 10 1809 and later): they replace the file in one step also while
// a reader has it open, provided every handle to it was opened sharing
// delete access (FILE_SHARE_DELETE), since replacing it deletes it. Not all
// readers share it: Go's os.Open and the C runtime's fopen do not, and NTFS
// then refuses the rename as any Windows file system does. os.Rename is
// MoveFileEx with MOVEFILE_REPLACE_EXISTING, which replaces in one step too
// but fails with ERROR_ACCESS_DENIED while any handle to the target is
// open, sharing delete or not; that is still the fallback where the file
// system lacks POSIX semantics (FAT, SMB shares, older Windows), and its
// refusal said only "Access is denied".
//
// A refused rename is tried again for busyPatience (see retryBusy): a
// handle that holds the file for a moment (a virus scanner's, the search
// indexer's, a viewer reloading it) failed the write at once, which for
// sessbench's --plot threw away the chart of a whole run.
func writeFile(path string, _ fs.FileMode, write func(io.Writer) error) error {
	return writeFileWaiting(path, write, time.Sleep)
}

// writeFileWaiting is writeFile, with wait sleeping between the tries of
// a refused rename (a test's wait ends the refusal instead).
func writeFileWaiting(path string, write func(io.Writer) error, wait func(time.Duration)) (err error) {
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
	r, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer r.Close()
	err = retryBusy(func() error { return r.Rename(filepath.Base(f.Name()), filepath.Base(path)) }, renameRefused, busyPatience, wait)
	if renameRefused(err) {
		return fmt.Errorf("%s could not be replaced (the file left as it was, refused for %s): another program has it open without letting it be replaced (or this file system does not replace an open file, or the file is read-only, or this user may not replace it): close it there, or write to another path: %w", path, busyPatience, err)
	}
	return err
}

// renameRefused reports a rename Windows refused because the target is
// open elsewhere, or may not be replaced at all (read-only, an ACL): the
// two are one error code.
func renameRefused(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
