package shellquote_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// suggested matches, in a message's format string (or its text built
// with +, each value a %s), a shell command it suggests an operator run:
// a command word after "(", "e.g. ", "; " or ": ", and the words, flags,
// literal paths, redirections and values that follow it; or "pass --FLAG" and its
// value.
var suggested = regexp.MustCompile(`(?:(?:\((?:e\.g\. )?|[;:] )(?:sudo|mount|umount|chown|chmod|install|mkdir|rm|mv|usermod|id|sessgc|sessbench|ulimit)\b(?: +(?:-{1,2}[\w-]+|[A-Z]+|[0-9]+|[a-z]+|/[\w./-]*|[<>]|%[sv]))*|pass --[a-z-]+ %[sv])`)

// verb matches a formatting verb of a format string.
var verb = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]*)?[a-zA-Z%]`)

// TestSuggestedCommandsQuoted: every value a message puts into a shell
// command it suggests (chown -R USER DIR, pass --dir DIR, mount POINT,
// sudo -u USER SESSGC) goes through Quote, so that a path with a space
// or a quote in it pastes as one word. sessgc's "pass --dir %s" and
// "mount %s" did not: a store below /mnt/my sessions named two
// arguments. A command built with + is checked too, and one after ": ",
// or with a literal path before its value: install-cron's "check with:
// id %s" and sessbench's "sessbench run --dir /mnt/efs/bench ... --redis
// " + t.Location went unseen, and unquoted.
func TestSuggestedCommandsQuoted(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// nfstest is a test harness: its logs name commands, suggest none.
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "nfstest" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		inner := map[ast.Node]bool{} // sums inside a sum already checked
		ast.Inspect(f, func(n ast.Node) bool {
			if sum, ok := n.(*ast.BinaryExpr); ok && sum.Op == token.ADD && !inner[sum] {
				checked += checkSum(t, fset, sum, inner)
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for i, a := range call.Args {
				format, ok := constString(a)
				if !ok || !strings.Contains(format, "%") {
					continue
				}
				verbs := verb.FindAllStringIndex(format, -1)
				for _, m := range suggested.FindAllStringIndex(format, -1) {
					arg := i // the argument of the verb at verbs[k] is call.Args[arg+1+k], %% aside
					for _, v := range verbs {
						if format[v[0]:v[1]] == "%%" {
							continue
						}
						arg++
						if v[0] < m[0] || v[0] >= m[1] || arg >= len(call.Args) {
							continue
						}
						checked++
						if !isQuote(call.Args[arg]) {
							t.Errorf("%s: %q puts %s into the command it suggests unquoted: pass it through shellquote.Quote",
								fset.Position(call.Args[arg].Pos()), format[m[0]:m[1]], exprString(fset, call.Args[arg]))
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d values of suggested commands checked", checked)
	if checked == 0 {
		t.Fatal("no suggested command with a value found: the pattern no longer matches the messages")
	}
}

// checkSum checks a command built with + ("sessgc run --dir " + dir):
// each operand of the sum that is not a literal and falls inside a
// suggested command must go through Quote (or be a constant), as a
// format's value must. It
// marks the sums inside sum in inner, and returns how many values it
// checked.
func checkSum(t *testing.T, fset *token.FileSet, sum *ast.BinaryExpr, inner map[ast.Node]bool) int {
	t.Helper()
	var (
		text   strings.Builder
		values []ast.Expr // the operands that are not literals
		at     []int      // where each is in text
		walk   func(e ast.Expr)
	)
	walk = func(e ast.Expr) {
		switch x := e.(type) {
		case *ast.ParenExpr:
			walk(x.X)
			return
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				inner[x] = true
				walk(x.X)
				walk(x.Y)
				return
			}
		}
		if s, ok := constString(e); ok {
			// A % in the text is no verb here.
			text.WriteString(strings.ReplaceAll(s, "%", "\x00"))
			return
		}
		at = append(at, text.Len())
		values = append(values, e)
		text.WriteString("%s")
	}
	walk(sum)
	checked := 0
	for _, m := range suggested.FindAllStringIndex(text.String(), -1) {
		for k, i := range at {
			if i < m[0] || i >= m[1] {
				continue
			}
			checked++
			if !isQuote(values[k]) {
				t.Errorf("%s: %q puts %s into the command it suggests unquoted: pass it through shellquote.Quote",
					fset.Position(values[k].Pos()), text.String()[m[0]:m[1]], exprString(fset, values[k]))
			}
		}
	}
	return checked
}

// isQuote reports whether e is a call of shellquote.Quote, or a constant
// (a literal, or a name declared const).
func isQuote(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return e.Obj != nil && e.Obj.Kind == ast.Con
	case *ast.CallExpr:
		sel, ok := e.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		return ok && pkg.Name == "shellquote" && sel.Sel.Name == "Quote"
	}
	return false
}

func exprString(_ *token.FileSet, e ast.Expr) string { return types.ExprString(e) }

// constString returns the string a literal, or a sum of literals, is.
func constString(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok := constString(e.X)
		if !ok {
			return "", false
		}
		y, ok := constString(e.Y)
		return x + y, ok
	case *ast.ParenExpr:
		return constString(e.X)
	}
	return "", false
}
