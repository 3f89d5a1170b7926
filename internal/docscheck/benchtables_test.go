package docscheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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

// TestREADMEFiguresFromThePagesRun: the README's local figures stand in
// a block that scripts/bench-tables.py writes with docs/benchmarks.md's,
// naming the run they come from, and that run is the one the page holds.
// The README's figures were typed in by hand and outlived two runs of the
// page, which no longer supported them (the locked cycle "42.0 µs against
// 44.3 µs for PHP" where the page's run measured 44.2 against 36.0).
func TestREADMEFiguresFromThePagesRun(t *testing.T) {
	root := consumertest.RepoRoot(t)
	block := func(rel, name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		begin, end := "<!-- bench:begin "+name+" -->\n", "\n<!-- bench:end "+name+" -->"
		_, rest, ok := strings.Cut(string(b), begin)
		text, _, ok2 := strings.Cut(rest, end)
		if !ok || !ok2 {
			t.Fatalf("%s: no block %s (lines %q and %q)", rel, name, strings.TrimSpace(begin), strings.TrimSpace(end))
		}
		return text
	}
	page := regexp.MustCompile("\\*\\*When, what:\\*\\* (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d)\\S* UTC, commit `(\\w+)`").FindStringSubmatch(block("docs/benchmarks.md", "run"))
	if page == nil {
		t.Fatal("docs/benchmarks.md: the run block names no date and commit (**When, what:** DATE HH:MM–HH:MM UTC, commit `HASH`)")
	}
	want := page[1] + " UTC, `" + page[2] + "`"
	readme := block("README.md", "readme")
	if !strings.Contains(readme, "of "+want+",") {
		t.Errorf("README.md's local figures do not come from the run docs/benchmarks.md holds (%s): run scripts/bench-tables.py OUTDIR --write docs/benchmarks.md, which writes both\n%s", want, readme)
	}
}
