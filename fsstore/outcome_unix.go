//go:build unix

package fsstore

import (
	"errors"

	"golang.org/x/sys/unix"
)

// osOutcome classifies the OS errors an operator fixes on the file server
// rather than in the application.
func osOutcome(err error) (Outcome, bool) {
	switch {
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		return OutcomeNoSpace, true
	case errors.Is(err, unix.EROFS):
		return OutcomeReadOnlyFS, true
	}
	return 0, false
}
