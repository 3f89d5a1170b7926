package fsstore

import (
	"errors"

	"golang.org/x/sys/windows"
)

// osOutcome classifies the OS errors an operator fixes on the file server
// rather than in the application.
func osOutcome(err error) (Outcome, bool) {
	switch {
	case errors.Is(err, windows.ERROR_DISK_FULL), errors.Is(err, windows.ERROR_HANDLE_DISK_FULL), errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED):
		return OutcomeNoSpace, true
	case errors.Is(err, windows.ERROR_WRITE_PROTECT):
		return OutcomeReadOnlyFS, true
	}
	return 0, false
}
