// Package ownerhint carries fsstore's advice on a permission error met in
// a store (which user it runs as, who owns the store, what to chown) to
// sessgc, which words its own refusal otherwise: one that already holds
// the advice is not told again, and sessgc learns that from the error's
// type, not from the words of the advice.
package ownerhint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/sessfs/sessfs/internal/shellquote"
)

// Error is err with fsstore's advice on it: its message is err's followed
// by Hint, which names this process's user and the fix.
type Error struct {
	Err  error
	Hint string // starts with ": "
}

// Error is err's message followed by the hint, as fsstore always wrote it.
func (e *Error) Error() string { return e.Err.Error() + e.Hint }

// Unwrap returns err, for errors.Is(err, fs.ErrPermission) and the like.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns err with hint on it, or err itself where hint is "" (no
// advice to give) or err carries advice already: an error hinted where it
// was met (a lock file's refusal) and again by the operation around it
// (the save that took the lock) said it twice.
func Wrap(err error, hint string) error {
	if hint == "" || err == nil {
		return err
	}
	if had := new(Error); errors.As(err, &had) {
		return err
	}
	return &Error{Err: err, Hint: hint}
}

// Who names the user a hint speaks of, by its euid (os.Geteuid: -1 on
// Windows, which has no user IDs, names none): "this process's user
// (uid 1000)". Every hint names it the same way, whoever words the rest.
func Who(euid int) string {
	if euid < 0 {
		return "this process's user"
	}
	return fmt.Sprintf("this process's user (uid %d)", euid)
}

// NotPermitted is the hint for err, a refusal met on path, when it is
// EPERM, and "" otherwise. EPERM is not EACCES: no owner or mode of a
// file gives it (root is refused too), and the owner hints (chown, chmod,
// run as another user) send the operator after a fix that changes
// nothing. It comes from an attribute of the file or of its directory
// (immutable, or append-only, which forbids removing and renaming), from
// a security module, or, in a sticky directory, from another user's file,
// which only its owner or the directory's may remove or rename: that one
// is named only where the directory is sticky.
func NotPermitted(path string, err error) string {
	return notPermitted(runtime.GOOS, path, err)
}

// notPermitted is NotPermitted with the commands of the system goos.
func notPermitted(goos, path string, err error) string {
	if !errors.Is(err, syscall.EPERM) {
		return ""
	}
	dir := filepath.Dir(path)
	look := []string{shellquote.Quote(dir)}
	if _, serr := os.Lstat(path); serr == nil && path != dir {
		look = append([]string{shellquote.Quote(path)}, look...)
	}
	names := strings.Join(look, " ")
	attrs := fmt.Sprintf("lsattr -d %s shows them, and chattr -i -a %s, as root, clears them", names, names)
	switch goos {
	case "linux":
	case "darwin":
		// macOS's ls shows the flags with -O; its -o drops the group.
		attrs = fmt.Sprintf("ls -ldO %s shows them, and chflags nouchg,nouappnd %s clears them (schg and sappnd need root, in single-user mode)", names, names)
	default:
		attrs = fmt.Sprintf("ls -ldo %s shows them, and chflags nouchg,nouappnd %s clears them (schg and sappnd need root, in single-user mode)", names, names)
	}
	others := fmt.Sprintf("the file or its directory has an attribute that forbids the change (immutable, or append-only, which forbids removing and renaming: %s), or a security module (SELinux, AppArmor) or a container's seccomp filter refuses it", attrs)
	if fi, serr := os.Stat(dir); serr == nil && fi.Mode()&fs.ModeSticky != 0 {
		// A matter of owner after all, the likelier cause here: not
		// "chown will not help".
		return fmt.Sprintf(": %s is a sticky directory (mode +t), where only a file's owner, the directory's owner or root may remove or rename it: if the file is another user's, run as that user or give the file to this one (chown); otherwise %s", dir, others)
	}
	return ": refused whatever the owner and mode (chown and chmod will not help): " + others
}
