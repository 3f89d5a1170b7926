package docscheck

import "testing"

// TestDeleteAsideModel runs scripts/delete-aside-model.py --check, the
// model of a locked Delete whose lock is lost beside a sweep and the next
// holder of the lock that docs/design.md ("The lost-lock window") cites:
// every order of their steps, and of a sweep settling the copies aside
// between them, must keep the next holder's record, and the model must
// still find the loss of the settlement built before (so a change that
// blinds it fails here too); an unlocked Delete beside a sweep's put-back
// and settlement must never be undone unless a holder stopped past its
// lease moves the name too (the residual the design states, which the
// model must still find). Some 23,000 states in all, under a second.
func TestDeleteAsideModel(t *testing.T) {
	runScript(t, "delete-aside-model.py", "--check")
}
