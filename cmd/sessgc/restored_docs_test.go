package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The sessions a sweep puts back (restored, sessgc_restored_sessions,
// restorable) come from a sweep that died or from a locked delete that
// lost its lock or died (TestRestoredFromLockedDelete): every text an
// operator reads about them names both, so that one who finds no sweep
// that died looks for the delete. The run's summary, the metric's help and
// the alert said so while the JSON field's row in docs/operations.md, the
// dashboard panel's description and operations.md's list of alerts still
// named the sweep alone. A unit of text (a markdown paragraph or table
// row, a JSON string) that speaks of sessions an interrupted or earlier
// sweep left aside or moved aside and that are put back or restored must
// name the delete too.
func TestRestoredTextsNameLockedDelete(t *testing.T) {
	sweepLeft := regexp.MustCompile(`(?i)(interrupted|earlier) sweep (had )?(left|moved)[^.]*aside`)
	putBack := regexp.MustCompile(`(?i)restor|put back|put them back|puts (it|them) back`)
	check := func(where, unit string) {
		t.Helper()
		if sweepLeft.MatchString(unit) && putBack.MatchString(unit) && !strings.Contains(strings.ToLower(unit), "delete") {
			t.Errorf("%s: speaks of sessions put back after a sweep, not of a locked delete's:\n%s", where, unit)
		}
	}
	root := filepath.Join("..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(docs, filepath.Join(root, "README.md")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Paragraphs, and each table row on its own.
		for _, para := range strings.Split(string(b), "\n\n") {
			if strings.HasPrefix(strings.TrimSpace(para), "|") {
				for _, row := range strings.Split(para, "\n") {
					check(p, row)
				}
				continue
			}
			check(p, para)
		}
	}
	for _, p := range []string{
		filepath.Join(root, "deploy", "grafana", "sessfs-dashboard.json"),
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				check(p, v)
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(v)
	}
	rules, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "sessfs-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// A rule's description spans lines (a block scalar): the rule is the unit.
	for _, rule := range strings.Split(string(rules), "- alert:") {
		check("sessfs-rules.yml", strings.Join(strings.Fields(rule), " "))
	}
}
