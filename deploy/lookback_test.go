package deploy_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	// lookBackRe matches a range of a query and the offset after it:
	// [1d] offset 1d, [1h] offset 3d, [15m].
	lookBackRe = regexp.MustCompile(`\[([0-9]+)([smhdw])(?::[0-9]+[smhdw])?\](?:\s+offset\s+([0-9]+)([smhdw]))?`)
	// retentionRe finds the retention the operator guide asks for.
	retentionRe = regexp.MustCompile("`--storage\\.tsdb\\.retention\\.time=([0-9]+)([smhdw])`")
	// dirGroupingRe matches a grouping or matching of a store by its dir
	// alone: by (dir), on (dir).
	dirGroupingRe = regexp.MustCompile(`\b(by|on) \(dir\)`)
	// guideGroupingRe finds the groupings the operator guide names to
	// edit, in backquotes: `by (dir)`.
	guideGroupingRe = regexp.MustCompile("`((?:by|on) \\(dir\\))`")
)

// expressions returns the rules file without its comments.
func expressions(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(read(t, rulesFile), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// TestGuideStatesRetention: the operator guide asks for a retention that
// holds the longest look-back of the rules that reach into the past with
// an offset (the range plus its offset): a range without one sees what
// is kept of it, an offset past the retention sees nothing. The growth
// alerts heed a store only once its series was there three days ago
// ([1h] offset 3d): on a Prometheus keeping less (two days, beside a
// remote write), they never fired, and nothing said so.
func TestGuideStatesRetention(t *testing.T) {
	var longest time.Duration
	var at string
	for _, m := range lookBackRe.FindAllStringSubmatch(expressions(t), -1) {
		if m[3] == "" {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		o, _ := strconv.Atoi(m[3])
		d := time.Duration(n)*units[m[2]] + time.Duration(o)*units[m[4]]
		if d > longest {
			longest, at = d, m[0]
		}
	}
	if longest == 0 {
		t.Fatal("no offset found in the rules")
	}
	m := retentionRe.FindStringSubmatch(read(t, filepath.Join("..", "docs", "operator-guide.md")))
	if m == nil {
		t.Fatalf("docs/operator-guide.md asks for no retention (%s); the rules look back %v (%s)", retentionRe, longest, at)
	}
	n, _ := strconv.Atoi(m[1])
	if kept := time.Duration(n) * units[m[2]]; kept < longest {
		t.Errorf("docs/operator-guide.md asks for a retention of %v; the rules look back %v (%s)", kept, longest, at)
	}
}

// TestTuneTellsFleetsApart: the operator guide's and the rules' TUNE for
// two fleets whose stores share a path (add the label that tells them
// apart to every grouping by dir) name every form the rules group or
// match a store by its dir alone. The growth alerts' "and on (dir)",
// left out of "every by (dir)", still matched a new fleet's store with
// the old fleet's, three days old, at the same path, and the growth
// alerts fired on the new one's second day.
func TestTuneTellsFleetsApart(t *testing.T) {
	expr := expressions(t)
	if !dirGroupingRe.MatchString(expr) {
		t.Fatal("no grouping by dir found in the rules")
	}
	for _, src := range []struct{ name, text string }{
		{"docs/operator-guide.md", read(t, filepath.Join("..", "docs", "operator-guide.md"))},
		{rulesFile + " (TUNE)", strings.ReplaceAll(read(t, rulesFile), `"`, "`")},
	} {
		named := map[string]bool{}
		for _, m := range guideGroupingRe.FindAllStringSubmatch(src.text, -1) {
			named[m[1]] = true
		}
		for _, g := range dirGroupingRe.FindAllString(expr, -1) {
			if !named[g] {
				t.Errorf("%s names %v to edit for two fleets at one path; the rules also use %q", src.name, keys(named), g)
				break
			}
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
