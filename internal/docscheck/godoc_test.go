package docscheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const modulePath = "github.com/sessfs/sessfs"

// godocImports are the packages, besides the one a doc comment is in and
// the prelude's, that the Go code in a package's doc comments uses without
// importing them: the frameworks an adapter is for.
var godocImports = map[string][]string{
	"adapters/echosession": {"github.com/labstack/echo/v4"},
	"adapters/ginsession":  {"github.com/gin-gonic/gin"},
	"adapters/ginstore":    {"github.com/gin-gonic/gin", "github.com/gin-contrib/sessions"},
	"metrics/prom":         {"github.com/prometheus/client_golang/prometheus"},
}

// godocBlocks returns the Go code blocks of the doc comments of every
// package a user imports (not main, not under internal/, not a module of
// its own), as snippets that import their own package and the frameworks
// of godocImports, in a function without results. pkg.go.dev shows them as code, and nothing else
// compiles them. A code block is taken for Go when it names its own
// package (httpsession.New) or parses as Go; the others are tables, file
// layouts and JSON.
func godocBlocks(t *testing.T, root string) []block {
	t.Helper()
	var blocks []block
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root {
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "internal" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		files, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				break
			}
			src, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			relFile := filepath.ToSlash(filepath.Join(rel, filepath.Base(file)))
			imports := append([]string{modulePath + "/" + rel}, godocImports[rel]...)
			for _, b := range commentCode(relFile, string(src)) {
				if !isGoCode(b.code, f.Name.Name) {
					continue
				}
				head := []string{"import ("}
				for _, p := range imports {
					head = append(head, "\t"+`"`+p+`"`)
				}
				b.code = append(append(head, ")"), b.code...)
				b.line -= len(head) + 1
				// Doc comments show the lines of a main or a handler,
				// which end with a bare return.
				b.void = true
				blocks = append(blocks, b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// commentCode returns the code blocks (lines indented by a tab after //)
// of the comments in src, with the indent removed.
func commentCode(file, src string) []block {
	lines := strings.Split(src, "\n")
	var blocks []block
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "//\t") {
			continue
		}
		b := block{file: file, line: i + 1, lang: "go"}
		for ; i < len(lines); i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "//\t"):
				b.code = append(b.code, strings.TrimPrefix(l, "//\t"))
				continue
			case strings.TrimSpace(l) == "//" && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "//\t"):
				b.code = append(b.code, "")
				continue
			}
			break
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// isGoCode reports whether code names package pkg or parses as Go
// declarations or statements.
func isGoCode(code []string, pkg string) bool {
	text := strings.Join(code, "\n")
	if regexp.MustCompile(`\b` + regexp.QuoteMeta(pkg) + `\.[A-Z]`).MatchString(text) {
		return true
	}
	fset := token.NewFileSet()
	if _, err := parser.ParseFile(fset, "", "package p\n"+text, parser.SkipObjectResolution); err == nil {
		return true
	}
	_, err := parser.ParseFile(fset, "", "package p\nfunc _() {\n"+text+"\n}", parser.SkipObjectResolution)
	return err == nil
}
