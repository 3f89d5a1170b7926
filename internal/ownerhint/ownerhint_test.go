package ownerhint

import (
	"errors"
	"fmt"
	"io/fs"
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
