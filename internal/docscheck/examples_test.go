package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// TestPublicPackagesHaveExamples checks that every package a user imports
// (not main, not under internal/, in this module) and that exports a
// function or a type has a runnable Example in its tests: pkg.go.dev shows
// it first, and `go test` keeps it compiling and its output true, which a
// snippet in a doc comment is not.
func TestPublicPackagesHaveExamples(t *testing.T) {
	root := consumertest.RepoRoot(t)
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "internal") {
			return filepath.SkipDir
		}
		if path != root {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a module of its own
			}
		}
		files, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		var exports, examples bool
		fset := token.NewFileSet()
		for _, file := range files {
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				continue
			}
			test := strings.HasSuffix(file, "_test.go")
			for _, decl := range f.Decls {
				switch decl := decl.(type) {
				case *ast.FuncDecl:
					switch {
					case test && decl.Recv == nil && strings.HasPrefix(decl.Name.Name, "Example"):
						examples = true
					case !test && decl.Name.IsExported():
						exports = true
					}
				case *ast.GenDecl:
					if test || decl.Tok != token.TYPE {
						continue
					}
					for _, spec := range decl.Specs {
						if spec.(*ast.TypeSpec).Name.IsExported() {
							exports = true
						}
					}
				}
			}
		}
		if !exports {
			return nil
		}
		checked++
		if !examples {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s: a public package without a runnable Example: add one (example_test.go) for its most common use", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no public package found: the walk is broken")
	}
	t.Logf("%d public packages checked", checked)
}
