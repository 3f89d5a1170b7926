package main_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/sessgc/internal/rekey"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/run"
)

// TestRunSummaryTable: the field table that follows "`--json` prints JSON
// Lines" in the operations page has a row for each field of run's
// summary, and names no field that
// run's or rekey's summary (whose fields the rekey section documents as
// "as for run") does not have. TestOutputsDocumented finds a name anywhere
// in the output sections, a JSON example's included: dir and dry_run were
// in the example alone, with no row saying what they mean.
func TestRunSummaryTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, doc, ok := strings.Cut(doc, "`--json` prints JSON Lines")
	if !ok {
		t.Fatal("docs/operations.md no longer says \"`--json` prints JSON Lines\": update this test")
	}
	_, doc, ok = strings.Cut(doc, "| field | meaning |\n|---|---|\n")
	if !ok {
		t.Fatal("no table \"| field | meaning |\" after run's --json")
	}
	doc, _, _ = strings.Cut(doc, "\n\n")
	code := regexp.MustCompile("`([a-z_]+)`")
	var documented []string
	for _, row := range strings.Split(doc, "\n") {
		cells := strings.Split(row, "|")
		if len(cells) < 3 {
			t.Fatalf("not a table row: %q", row)
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			documented = append(documented, m[1])
		}
	}
	summary := topJSONNames(reflect.TypeFor[run.Summary]())
	for _, name := range summary {
		if !slices.Contains(documented, name) {
			t.Errorf("run's --json summary has %q, which its table in docs/operations.md has no row for", name)
		}
	}
	known := append(summary, topJSONNames(reflect.TypeFor[rekey.Summary]())...)
	for _, name := range documented {
		if !slices.Contains(known, name) {
			t.Errorf("docs/operations.md documents %q in run's --json summary table, which neither run's nor rekey's summary has", name)
		}
	}
}

// topJSONNames returns the JSON names of the fields of the struct type t,
// those of embedded structs included, but not those of its fields' values.
func topJSONNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-" || !f.IsExported():
		case f.Anonymous && tag == "":
			names = append(names, topJSONNames(f.Type)...)
		case tag == "":
			names = append(names, f.Name)
		default:
			names = append(names, tag)
		}
	}
	return names
}
