package docscheck

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestBenchTablesSelfTest runs scripts/bench-tables.py --self-test: it
// renders the stored run under scripts/testdata/bench-run into a copy of
// docs/benchmarks.md and checks that the page's generated blocks are the
// ones the script renders, that --write changes those blocks and nothing
// else, that --diff then finds no difference and a second --write no
// change, and that the goals' verdicts follow their thresholds. So a
// block renamed or dropped on the page, or a renderer broken by a change
// to the script, fails here and not at the next benchmark run.
func TestBenchTablesSelfTest(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skip(t, testenv.Python, "python3 not installed (apt-get install python3)")
	}
	root := consumertest.RepoRoot(t)
	cmd := exec.Command(py, filepath.Join(root, "scripts", "bench-tables.py"), "--self-test")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/bench-tables.py --self-test: %v\n%s", err, out)
	}
}
