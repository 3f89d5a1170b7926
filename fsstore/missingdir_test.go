//go:build unix

package fsstore_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenMissingDirSaysWhatToDo: the first thing a new user runs into is
// Open of a directory that does not exist (the quick start's
// /mnt/efs/sessions, or a share not mounted on this host). The error names
// the directory as every other refusal of Open does ("fsstore: open DIR:"),
// says that the directory must be created (and the share mounted), and
// still matches fs.ErrNotExist; nothing is created. It also says how to
// create it through an EFS access point, where every file is the access
// point's user's and the chown of install -d -o is refused (EPERM, the
// directory left made but the command failed): mkdir, as any user.
func TestOpenMissingDirSaysWhatToDo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	s, err := fsstore.Open(dir)
	if s != nil {
		s.Close()
	}
	if err == nil {
		t.Fatal("Open of a missing directory succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error does not match fs.ErrNotExist: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"fsstore: open " + dir + ": ", "does not exist", "mounted", "install -d", "EFS access point", "mkdir -m 0700 " + dir} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if _, err := fsstore.Open(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a second Open: %v; Open must not create the directory", err)
	}
}
