package fsstore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRelativeDirInRemovedWorkingDirectory: Open of a relative dir from a
// working directory removed since the process entered it (a release
// directory a deploy cleaned up) says that the working directory cannot
// be named, where it said "open sessions: no such file or directory",
// which sent the operator after a store directory that may well exist.
// The errno is still wrapped (fs.ErrNotExist).
func TestRelativeDirInRemovedWorkingDirectory(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "release")
	if err := os.Mkdir(gone, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(gone)
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open("sessions")
	if err == nil {
		s.Close()
		t.Fatal("Open in a removed working directory worked")
	}
	if msg := err.Error(); !strings.Contains(msg, "working directory") {
		t.Errorf("Open in a removed working directory: %q, want it to name the working directory", msg)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open in a removed working directory: %v, want fs.ErrNotExist wrapped", err)
	}
}
