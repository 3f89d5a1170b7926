package keygen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// TestExampleRotationMatchesOperations: the help shows the rotation
// docs/operations.md teaches, in two deploys, the new key after the current
// ones first. Putting it first in one step makes the hosts not yet deployed
// fail to read what the others write.
func TestExampleRotationMatchesOperations(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, line := range strings.Split(string(doc), "\n") {
		// Indented where a guard comes before it (step 1's "! grep -q").
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "(umask 077; {") {
			steps = append(steps, line)
		}
	}
	if len(steps) != 2 {
		t.Fatalf("docs/operations.md: %d rotation steps that write a keys file, want 2: %q", len(steps), steps)
	}
	example := NewCmdKeygen(&cmdutil.IOStreams{}, nil).Example
	for i, step := range steps {
		if !strings.Contains(example, step) {
			t.Errorf("keygen help lacks step %d of docs/operations.md:\n  %s\nhelp example:\n%s", i+1, step, example)
		}
	}
}
