// Package ownerhint carries fsstore's advice on a permission error met in
// a store (which user it runs as, who owns the store, what to chown) to
// sessgc, which words its own refusal otherwise: one that already holds
// the advice is not told again, and sessgc learns that from the error's
// type, not from the words of the advice.
package ownerhint

import (
	"errors"
	"fmt"
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
