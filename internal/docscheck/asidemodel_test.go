package docscheck

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestDeleteAsideModel runs scripts/delete-aside-model.py --check, the
// model of a locked Delete whose lock is lost beside a sweep and the next
// holder of the lock that docs/design.md ("The lost-lock window") cites:
// every order of their steps, and of a sweep settling the copies aside
// between them, must keep the next holder's record, and the model must
// still find the loss of the settlement built before (so a change that
// blinds it fails here too). Some 5,000 states in all.
func TestDeleteAsideModel(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skip(t, testenv.Python, "python3 not installed (apt-get install python3)")
	}
	root := consumertest.RepoRoot(t)
	cmd := exec.Command(py, filepath.Join(root, "scripts", "delete-aside-model.py"), "--check")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/delete-aside-model.py --check: %v\n%s", err, out)
	}
}
