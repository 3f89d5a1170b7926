package ownerhint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrap(t *testing.T) {
	perm := &fs.PathError{Op: "open", Path: "/srv/sessions/.sessfs", Err: fs.ErrPermission}
	for _, tc := range []struct {
		name     string
		err      error
		hint     string
		want     string
		isHinted bool
	}{
		{"hint", perm, ": run it as app", "open /srv/sessions/.sessfs: permission denied: run it as app", true},
		{"no hint", perm, "", "open /srv/sessions/.sessfs: permission denied", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("fsstore: open /srv/sessions: %w", Wrap(tc.err, tc.hint))
			if got := err.Error(); got != "fsstore: open /srv/sessions: "+tc.want {
				t.Errorf("message %q; want %q", got, "fsstore: open /srv/sessions: "+tc.want)
			}
			var h *Error
			if errors.As(err, &h) != tc.isHinted {
				t.Errorf("errors.As(%v, *Error) = %v; want %v", err, !tc.isHinted, tc.isHinted)
			}
			if !errors.Is(err, fs.ErrPermission) {
				t.Errorf("errors.Is(%v, fs.ErrPermission) = false; want true through the hint", err)
			}
		})
	}
	if Wrap(nil, ": x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

// TestWho: the user every hint names, with its uid where the system has
// user IDs.
func TestWho(t *testing.T) {
	for _, tc := range []struct {
		euid int
		want string
	}{
		{-1, "this process's user"},
		{0, "this process's user (uid 0)"},
		{1000, "this process's user (uid 1000)"},
	} {
		if got := Who(tc.euid); got != tc.want {
			t.Errorf("Who(%d) = %q, want %q", tc.euid, got, tc.want)
		}
	}
}

// TestNotPermitted: EPERM, wrapped or bare, gets the attribute hint;
// EACCES and other errors get none (the owner hints are theirs).
func TestNotPermitted(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"EPERM", syscall.EPERM, true},
		{"wrapped EPERM", fmt.Errorf("save: %w", &fs.PathError{Op: "open", Path: p, Err: syscall.EPERM}), true},
		{"EACCES", &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}, false},
		{"ENOENT", syscall.ENOENT, false},
	} {
		got := NotPermitted(p, tc.err)
		if (got != "") != tc.want || tc.want && !strings.Contains(got, "immutable") {
			t.Errorf("%s: NotPermitted = %q, want a hint: %v", tc.name, got, tc.want)
		}
	}
}

// TestNotPermittedCommands: the command the hint names to show a file's
// flags shows them on the system it names them for. macOS's ls shows
// them with -O (its -o drops the group column and shows no flags), the
// BSDs' with -o; Linux has lsattr.
func TestNotPermittedCommands(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, tc := range []struct {
		goos, want, not string
	}{
		{"linux", "lsattr -d ", "ls -ld"},
		{"darwin", "ls -ldO ", "ls -ldo "},
		{"freebsd", "ls -ldo ", "ls -ldO "},
		{"openbsd", "ls -ldo ", "ls -ldO "},
	} {
		got := notPermitted(tc.goos, p, syscall.EPERM)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
			t.Errorf("%s: %q, want %q in it and not %q", tc.goos, got, tc.want, tc.not)
		}
	}
}

// TestNotPermittedSticky: in a sticky directory EPERM is also another
// user's file, removed or renamed by one who owns neither it nor the
// directory: a matter of owner, which a chown (or running as the file's
// owner) settles. The hint said "chown and chmod will not help" before it
// named that cause; it names the sticky directory first and what helps.
func TestNotPermittedSticky(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode()&fs.ModeSticky == 0 {
		t.Skipf("no sticky directory here: %v, %v", st, err)
	}
	got := NotPermitted(filepath.Join(dir, "f"), syscall.EPERM)
	if strings.Contains(got, "will not help") {
		t.Errorf("%q says a chown will not help, in a sticky directory", got)
	}
	for _, w := range []string{"sticky", "chown", "immutable"} {
		if !strings.Contains(got, w) {
			t.Errorf("%q does not say %q", got, w)
		}
	}
}
