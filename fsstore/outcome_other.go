//go:build !unix && !windows

package fsstore

// osOutcome has no OS errors to classify here: they count as OutcomeError.
func osOutcome(error) (Outcome, bool) { return 0, false }
