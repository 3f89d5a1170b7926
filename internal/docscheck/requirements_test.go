package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// requireVar is a SESSFS_REQUIRE_* variable as Go code names it: a string
// literal, the name testenv.Skip or nfstest.Require reads.
var requireVar = regexp.MustCompile(`"(SESSFS_REQUIRE_[A-Z0-9_]+)"`)

// TestRequireVarsDocumented: every SESSFS_REQUIRE_* variable the tests read
// is named in docs/testing.md, which is where a developer whose run skipped
// a test learns what the test needs and that CI does not skip it, and is
// set by .ci/run, or CI could skip those tests unnoticed. The page named
// five of the seven; the Redis tests of sessbench and the cluster's browser
// test were in no part of it.
func TestRequireVarsDocumented(t *testing.T) {
	root := consumertest.RepoRoot(t)
	var vars []string
	goFiles(t, root, ".go", func(b []byte) {
		for _, m := range requireVar.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(vars, m[1]) {
				vars = append(vars, m[1])
			}
		}
	})
	if len(vars) < 2 {
		t.Fatalf("found %v: the pattern no longer matches how the tests name their requirements", vars)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	doc, ci := read("docs/testing.md"), read(".ci/run")
	for _, v := range vars {
		if !strings.Contains(doc, v) {
			t.Errorf("docs/testing.md does not name %s: say which tests it makes fail instead of skip, and what they need", v)
		}
		if !regexp.MustCompile(`\b` + v + `=1\b`).MatchString(ci) {
			t.Errorf(".ci/run does not set %s=1: CI would skip its tests unnoticed", v)
		}
	}
}
