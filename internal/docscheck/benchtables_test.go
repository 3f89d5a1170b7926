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
	runScript(t, "bench-tables.py", "--self-test")
}

// runScript runs the Python script scripts/NAME with its one argument
// from the repository's root, and fails the test with its output if it
// fails.
func runScript(t *testing.T, name, arg string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skip(t, testenv.Python, "python3 not installed (apt-get install python3)")
	}
	root := consumertest.RepoRoot(t)
	cmd := exec.Command(py, filepath.Join(root, "scripts", name), arg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/%s %s: %v\n%s", name, arg, err, out)
	}
}
