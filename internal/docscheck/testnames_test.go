package docscheck

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

var (
	// testFunc is a test, benchmark, fuzz target or example as a _test.go
	// file declares it.
	testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)\w*)\(`)
	// testSpan is an inline code span that is a test's name, as the docs
	// cite one to back a claim: `TestX`, `TestX/sub`, `TestX*` (every test
	// whose name starts so), `go test -run`'s argument aside.
	testSpan = regexp.MustCompile(`^((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)(\*)?(?:/\S*)?$`)
)

// historicalDocs record runs of the past, under the names tests had then
// (docs/measurements.md says what each is called now), or are generated
// from a run (docs/benchmarks.md).
var historicalDocs = map[string]bool{"docs/measurements.md": true, "docs/benchmarks.md": true}

// TestDocsNameRealTests: every test the README or a doc names to back a
// claim (`TestLaggingHostLeavesNewKeySessionsAlone`) is a test of the
// module, so that a claim does not outlive the test that showed it, renamed
// or removed, with nothing to say so.
func TestDocsNameRealTests(t *testing.T) {
	root := consumertest.RepoRoot(t)
	defined := map[string]bool{}
	goFiles(t, root, "_test.go", func(b []byte) {
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
	})
	checked := 0
	for _, md := range mdFiles(t, root) {
		_, spans := parseMarkdown(t, root, md)
		for _, s := range spans {
			if historicalDocs[filepath.ToSlash(s.file)] {
				continue
			}
			m := testSpan.FindStringSubmatch(s.text)
			if m == nil {
				continue
			}
			checked++
			if missingTest(defined, m[1], m[2] == "*") {
				t.Errorf("%s:%d: `%s` names no test, benchmark, fuzz target or example of the module", s.file, s.line, s.text)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d test names found in the docs: the extraction is broken", checked)
	}
	t.Logf("%d test names checked", checked)
}

// missingTest reports whether name (a prefix of names, with glob) is
// declared by none of the module's tests.
func missingTest(defined map[string]bool, name string, glob bool) bool {
	if !glob {
		return !defined[name]
	}
	for d := range defined {
		if strings.HasPrefix(d, name) {
			return false
		}
	}
	return true
}
