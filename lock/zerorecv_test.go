package lock_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestZeroReceivers calls every exported method of every exported type of
// package lock on a nil pointer and on a zero value: none may panic (the
// accessors of a nil *Handle, *FileLock or *Table, and a Table{}'s Stats
// and CloseIdle, did), and one that returns an error returns one on a nil
// pointer and on a zero value no constructor made (a LeaseDir{}'s Close
// returned nil, where a Table{}'s Close and a FileLock{}'s Unlock fail). The method sets are read by reflection, so a method added later
// is called here without a line of this test changing; a type added later
// must be added to types, which is checked against the type declarations
// of the package's source.
func TestZeroReceivers(t *testing.T) {
	types := []any{
		(*lock.Table)(nil),
		(*lock.Handle)(nil),
		(*lock.FileLock)(nil),
		(*lock.LeaseDir)(nil),
		(*lock.Config)(nil),
		(*lock.Stats)(nil),
		(*lock.LeaseHolder)(nil),
		(*lock.Mode)(nil),
		(*lock.Strategy)(nil),
	}
	declared := exportedTypes(t)
	for _, typ := range types {
		delete(declared, reflect.TypeOf(typ).Elem().Name())
	}
	for name := range declared {
		t.Errorf("exported type %s is not in this test's types: add it", name)
	}
	errType := reflect.TypeOf((*error)(nil)).Elem()
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	// args: arguments the method accepts as they stand (a name, a
	// context), so that the call reaches the receiver rather than failing
	// on an argument first.
	args := func(m reflect.Type) []reflect.Value {
		var in []reflect.Value
		for i := 1; i < m.NumIn(); i++ { // 0 is the receiver
			switch p := m.In(i); {
			case p == ctxType:
				in = append(in, reflect.ValueOf(context.Background()))
			case p.Kind() == reflect.String:
				in = append(in, reflect.ValueOf("a").Convert(p))
			default:
				in = append(in, reflect.Zero(p))
			}
		}
		return in
	}
	call := func(t *testing.T, recv reflect.Value, m reflect.Method) (out []reflect.Value) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panicked: %v", r)
			}
		}()
		return m.Func.Call(append([]reflect.Value{recv}, args(m.Type)...))
	}
	for _, typ := range types {
		pt := reflect.TypeOf(typ)
		// A value receiver's method called through a nil pointer panics in
		// the wrapper Go generates, before the method runs: nothing the
		// package can answer. Such types are called on their zero value.
		byPointer := false
		for i := 0; i < pt.NumMethod(); i++ {
			if _, ok := pt.Elem().MethodByName(pt.Method(i).Name); !ok {
				byPointer = true
			}
		}
		for i := 0; i < pt.NumMethod(); i++ {
			m := pt.Method(i)
			if strings.HasSuffix(m.Name, "ForTest") {
				continue // export_test.go's, not the package's
			}
			if byPointer {
				t.Run(fmt.Sprintf("nil %v/%s", pt, m.Name), func(t *testing.T) {
					out := call(t, reflect.Zero(pt), m)
					if last := len(out) - 1; last >= 0 && m.Type.Out(last) == errType && out[last].IsNil() {
						t.Errorf("no error from a nil %v", pt)
					}
				})
				t.Run(fmt.Sprintf("zero %v/%s", pt.Elem(), m.Name), func(t *testing.T) {
					out := call(t, reflect.New(pt.Elem()), m)
					if last := len(out) - 1; last >= 0 && m.Type.Out(last) == errType && out[last].IsNil() {
						t.Errorf("no error from a zero %v", pt.Elem())
					}
				})
				continue
			}
			vm, _ := pt.Elem().MethodByName(m.Name)
			t.Run(fmt.Sprintf("zero %v/%s", pt.Elem(), m.Name), func(t *testing.T) {
				call(t, reflect.Zero(pt.Elem()), vm)
			})
		}
	}
}

// exportedTypes lists the exported types the package's source declares,
// for every platform (build tags are not read).
func exportedTypes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				if ts := s.(*ast.TypeSpec); ts.Name.IsExported() {
					names[ts.Name.Name] = true
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no exported type found in the package's source")
	}
	return names
}
