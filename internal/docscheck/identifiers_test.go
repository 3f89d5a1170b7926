package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// publicNames returns, per package name, what the module's public packages
// (not main, not under internal/, cmd/ or examples/) let a reader look
// up: their exported declarations, methods and fields as Type.Name, and
// the tests and examples of their _test.go files.
func publicNames(t *testing.T, root string) map[string]map[string]bool {
	t.Helper()
	names := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			n := d.Name()
			if path != root && (strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || n == "testdata" || n == "internal" || n == "cmd" || n == "examples") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := strings.TrimSuffix(f.Name.Name, "_test")
		if pkg == "main" {
			return nil
		}
		set := names[pkg]
		if set == nil {
			set = map[string]bool{}
			names[pkg] = set
		}
		test := strings.HasSuffix(path, "_test.go")
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				switch {
				case test:
					if testFunc.MatchString("func " + d.Name.Name + "(") {
						set[d.Name.Name] = true
					}
				case d.Recv == nil:
					set[d.Name.Name] = true
				default:
					set[recvName(d.Recv.List[0].Type)+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				if test {
					continue
				}
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						set[s.Name.Name] = true
						var fields *ast.FieldList
						switch tt := s.Type.(type) {
						case *ast.StructType:
							fields = tt.Fields
						case *ast.InterfaceType:
							fields = tt.Methods
						}
						if fields == nil {
							continue
						}
						for _, fl := range fields.List {
							for _, n := range fl.Names {
								set[s.Name.Name+"."+n.Name] = true
							}
							if len(fl.Names) == 0 { // embedded
								set[s.Name.Name+"."+recvName(fl.Type)] = true
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							set[n.Name] = true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// recvName is the name of a receiver's or an embedded field's type.
func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvName(x.X)
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.IndexListExpr:
		return recvName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.Ident:
		return x.Name
	}
	return ""
}

// qualified is a name of a package, with a member of a type if any:
// fsstore.WithKeysFile, httpsession.Cookie.Insecure.
var qualified = regexp.MustCompile(`\b([a-z]+)\.([A-Z]\w*)(?:\.([A-Z]\w*))?`)

// TestDocsIdentifiersExist: every name of a public package that the README
// or a doc writes in a code span (`fsstore.WithKeysFile`,
// `httpsession.Cookie.Insecure`, `lock.Config.LeaseGrace`) is declared by
// that package. The Go blocks are compiled; these spans are not, and a
// renamed option or error would leave readers looking for what is not
// there.
func TestDocsIdentifiersExist(t *testing.T) {
	root := consumertest.RepoRoot(t)
	names := publicNames(t, root)
	checked := 0
	for _, md := range mdFiles(t, root) {
		_, spans := parseMarkdown(t, root, md)
		for _, s := range spans {
			for _, m := range qualified.FindAllStringSubmatch(s.text, -1) {
				set := names[m[1]]
				if set == nil {
					continue // not a package of the module
				}
				checked++
				missing := ""
				switch {
				case !set[m[2]]:
					missing = m[2]
				case m[3] != "" && hasMembers(set, m[2]) && !set[m[2]+"."+m[3]]:
					missing = m[2] + "." + m[3]
				}
				if missing != "" {
					t.Errorf("%s:%d: `%s`: package %s declares no %s", s.file, s.line, s.text, m[1], missing)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d names of the module's packages found in the docs: the extraction is broken", checked)
	}
	t.Logf("%d names checked", checked)
}

// hasMembers reports whether typ has methods or fields in set, so that
// typ.Name in the docs names one of them (a constant or a function
// followed by a dot is the end of a sentence, or a method of a standard
// type, and is not checked).
func hasMembers(set map[string]bool, typ string) bool {
	for n := range set {
		if strings.HasPrefix(n, typ+".") {
			return true
		}
	}
	return false
}
