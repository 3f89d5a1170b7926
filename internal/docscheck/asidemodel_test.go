package docscheck

import "testing"

// TestDeleteAsideModel runs scripts/delete-aside-model.py --check, the
// model of a locked Delete whose lock is lost beside a sweep and the next
// holder of the lock that docs/design.md ("The lost-lock window") cites:
// every order of their steps, and of a sweep settling the copies aside
// between them, must keep the next holder's record, and the model must
// still find the loss of the settlement built before (so a change that
// blinds it fails here too). Some 5,000 states in all.
func TestDeleteAsideModel(t *testing.T) {
	runScript(t, "delete-aside-model.py", "--check")
}
