//go:build unix

package lock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPermissionHintFacts: the hint on a refused open says only what the
// file's owner and mode show. A file this user owns whose mode lets it
// read and write (or, the file gone, for one that vanished after the
// refusal, a lock directory it owns with mode 0755) was said to have a
// mode that "refuses it"; a file whose owner and directory could not be
// told was said to be another user's; and root refused on any file system was said to
// be mapped to another user by the file server, which a container
// without CAP_DAC_OVERRIDE is not.
func TestPermissionHintFacts(t *testing.T) {
	const uid = 1000 // not root: the hint of an ordinary user
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	if err := os.WriteFile(own, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	denied := func(p string) error { return &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES} }
	for _, tc := range []struct {
		name string
		// dirUID, fileUID: the owners given to dir and own.
		dirUID, fileUID int
		dirMode         fs.FileMode
		euid            int
		path            string
		want, notWant   []string
	}{
		{"own file, mode allows", uid, uid, 0o755, uid, own,
			[]string{"which it owns", "mode 0600 lets it"}, []string{"refuses it"}},
		{"vanished file, own directory allows", uid, uid, 0o755, uid, filepath.Join(dir, "gone"),
			[]string{"the lock directory " + dir, "mode 0755 lets it"}, []string{"refuses it"}},
		{"own file, mode refuses", uid, uid, 0o755, uid, own + "-ro",
			[]string{"whose mode 0400 refuses it"}, nil},
		{"owner unknown", uid, uid, 0o755, uid, filepath.Join(dir, "gone", "s1"),
			[]string{"owner could not be told", "chown -R USER"}, []string{"another user made it"}},
		{"root", 0, 0, 0o755, 0, own,
			[]string{"root_squash", "CAP_DAC_OVERRIDE"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if os.Geteuid() != 0 {
				t.Skip("needs root, to give the files an owner")
			}
			if err := os.WriteFile(own+"-ro", nil, 0o400); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{own, own + "-ro"} {
				if err := os.Chown(p, tc.fileUID, tc.fileUID); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chown(dir, tc.dirUID, tc.dirUID); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			msg := permissionHintAs(tc.euid, tc.path, denied(tc.path)).Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("%q says %q", msg, w)
				}
			}
		})
	}
}

// TestPermissionHintEPERM: EPERM (an immutable or append-only file or
// directory, a security module) is refused whatever the owner and mode,
// root included: its hint names the attributes and how to see and clear
// them, not the chown, chmod or user switch of EACCES's hints, which
// change nothing. A sticky lock directory is named as the other cause.
func TestPermissionHintEPERM(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	if err := os.WriteFile(own, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sticky := filepath.Join(t.TempDir(), "sticky")
	if err := os.Mkdir(sticky, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		euid          int
		path          string
		want, notWant []string
	}{
		{"file", 1000, own, []string{"refused whatever the owner and mode", "immutable", "chattr -i -a " + own + " " + dir, "lsattr -d " + own}, []string{"chown -R", "chmod -R", "sticky"}},
		{"file, root", 0, own, []string{"refused whatever the owner and mode", "chattr -i -a " + own}, []string{"root_squash", "run it as"}},
		{"new file", 1000, filepath.Join(dir, "s1"), []string{"chattr -i -a " + dir}, []string{"chown -R", dir + "/s1"}},
		{"sticky directory", 1000, filepath.Join(sticky, "s1"), []string{"chattr -i -a " + sticky, sticky + " is a sticky directory", "(chown)"}, []string{"chown -R", "will not help"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused := &fs.PathError{Op: "open", Path: tc.path, Err: syscall.EPERM}
			err := permissionHintAs(tc.euid, tc.path, refused)
			msg := strings.TrimPrefix(err.Error(), refused.Error()) // the hint
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("%q says %q", msg, w)
				}
			}
			if !errors.Is(err, syscall.EPERM) {
				t.Errorf("%v: does not match EPERM", err)
			}
		})
	}
}

// TestPermissionHintRemoveJudgesDirectory: a removal or a rename over a
// file is refused by the lock directory's owner and mode, not the
// file's: a lease file this user owns, mode 0600, in a lock directory
// root made (or chmod a-w'd) was said to have a mode that lets it, the
// refusal coming "from elsewhere" (an ACL, SELinux, the file server's ID
// mapping), where the directory's owner refuses it and a chown of the
// directory clears it.
func TestPermissionHintRemoveJudgesDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give the files an owner")
	}
	const uid = 1000
	dir := t.TempDir()
	own := filepath.Join(dir, "s1")
	if err := os.WriteFile(own, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(own, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // root's: uid 1000 may not write it
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		refused error
	}{
		{"remove", &fs.PathError{Op: "remove", Path: own, Err: syscall.EACCES}},
		{"rename over", &os.LinkError{Op: "rename", Old: own + ".tmp", New: own, Err: syscall.EACCES}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := permissionHintAs(uid, own, tc.refused).Error()
			for _, w := range []string{"the lock directory " + dir, "which is root's (mode 0755)"} {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "lets it") {
				t.Errorf("%q says the mode lets it", msg)
			}
		})
	}
}
