//go:build unix || windows

package fsstore

import "github.com/sessfs/sessfs/internal/fserr"

// osOutcome classifies the OS errors an operator fixes on the file server
// rather than in the application (fserr: each system's codes for them).
func osOutcome(err error) (Outcome, bool) {
	switch {
	case fserr.NoSpace(err):
		return OutcomeNoSpace, true
	case fserr.ReadOnly(err):
		return OutcomeReadOnlyFS, true
	}
	return 0, false
}
