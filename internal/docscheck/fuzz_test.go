package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

var (
	fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	// A row of the table in docs/testing.md, "Fuzz targets":
	// | `FuzzX` | package dir | input |
	fuzzRow = regexp.MustCompile("(?m)^\\| `(Fuzz\\w+)` \\| ([\\w/.-]+) \\|")
)

// TestFuzzTargetsListed keeps the table of fuzz targets in docs/testing.md
// whole and true: every Fuzz function of the module is a row (target and
// package), every row names one, and each has a seed corpus checked in
// under its package's testdata/fuzz/, as the section promises.
func TestFuzzTargetsListed(t *testing.T) {
	root := consumertest.RepoRoot(t)
	var found []string // "pkg FuzzX"
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != root && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(b), -1) {
			found = append(found, filepath.ToSlash(pkg)+" "+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatal("no fuzz targets found: is the pattern still right?")
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "testing.md"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range fuzzRow.FindAllStringSubmatch(string(doc), -1) {
		listed = append(listed, m[2]+" "+m[1])
	}
	for _, f := range found {
		pkg, name, _ := strings.Cut(f, " ")
		if !slices.Contains(listed, f) {
			t.Errorf("%s in %s is not in the table of docs/testing.md, \"Fuzz targets\"", name, pkg)
		}
		seeds, err := os.ReadDir(filepath.Join(root, pkg, "testdata", "fuzz", name))
		if len(seeds) == 0 {
			t.Errorf("%s in %s has no seed corpus checked in under %s/testdata/fuzz/%s (%v)", name, pkg, pkg, name, err)
		}
	}
	for _, l := range listed {
		if !slices.Contains(found, l) {
			pkg, name, _ := strings.Cut(l, " ")
			t.Errorf("docs/testing.md lists %s in %s, which has no such fuzz target", name, pkg)
		}
	}
}
