package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// raceSkipped is a test that skips itself under the race detector: its
// name, then the check that skips it, the first statement of its body.
var raceSkipped = regexp.MustCompile(`func (Test\w+)\(t \*testing\.T\) \{\n\tif raceEnabled \{`)

// TestRaceSkippedRunInCI: CI's go test runs with -race, under which the
// allocation tests skip themselves (the detector allocates for itself), so
// .ci/run runs them again without it, by name. A test added with that skip
// but not to that list would never run in CI: the eight there had not, and
// a pooled buffer dropped on the floor went unseen.
func TestRaceSkippedRunInCI(t *testing.T) {
	root := consumertest.RepoRoot(t)
	var names []string
	goFiles(t, root, "_test.go", func(b []byte) {
		for _, m := range raceSkipped.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
	})
	if len(names) < 5 {
		t.Fatalf("found %v: the pattern no longer matches how the tests skip under -race", names)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci/run"))
	if err != nil {
		t.Fatal(err)
	}
	var step string
	for _, line := range strings.SplitAfter(string(ci), "\n") {
		if strings.Contains(line, "go test -count=1 -run '^(Test") {
			step = line
		}
	}
	if step == "" {
		t.Fatal(".ci/run has no step running the race-skipped tests without -race (go test -count=1 -run '^(Test...)$')")
	}
	for _, n := range names {
		if !regexp.MustCompile(`[(|]` + n + `[|)]`).MatchString(step) {
			t.Errorf("%s skips under -race, and .ci/run's step without -race does not run it: CI never runs it (add it there)", n)
		}
	}
}
