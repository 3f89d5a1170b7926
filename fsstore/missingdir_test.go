//go:build unix

package fsstore_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/shellquote"
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

// TestOpenMissingParentSuggestsWorkingCommands: where the store's
// directory's parent is missing too, the commands Open's error suggests
// make the directory, mode 0700, when a shell runs them. It suggested
// "mkdir -m 0700 DIR" for an EFS access point, which fails there ("No
// such file or directory"): mkdir makes no parents. The error names the
// nearest directory that exists, for the operator to check that it is
// on the share (a missing parent is as often a share not mounted).
func TestOpenMissingParentSuggestsWorkingCommands(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the commands")
	}
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	for _, cmd := range []string{"install -d ", "mkdir "} {
		t.Run(cmd, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "apps", "my app", "sessions")
			_, err := fsstore.Open(dir)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Open: %v; want an error matching fs.ErrNotExist", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "findmnt -T "+top) {
				t.Errorf("error %q does not name %s, the nearest directory that exists", msg, top)
			}
			i := strings.Index(msg, cmd)
			if i < 0 {
				t.Fatalf("error %q suggests no %q", msg, cmd)
			}
			j := strings.Index(msg[i:], ")")
			if j < 0 {
				t.Fatalf("error %q: no end to the suggestion", msg)
			}
			line := strings.ReplaceAll(msg[i:i+j], "USER", shellquote.Quote(u.Username))
			if out, err := exec.Command(sh, "-c", line).CombinedOutput(); err != nil {
				t.Fatalf("the suggested %q: %v: %s", line, err, out)
			}
			fi, err := os.Stat(dir)
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("after %q: %v, %v; want a directory mode 0700", line, fi, err)
			}
		})
	}
}
