package httpsession_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRPCBudgetsInOperatorGuide holds the per-request round trips that
// docs/operator-guide.md quotes to httpRPCBudgets, which the NFS test
// asserts: the guide kept a first visit's 11 and a gone session's 6 after
// the budgets became 12 and 7, and nothing short of an NFS run looks at
// them.
func TestRPCBudgetsInOperatorGuide(t *testing.T) {
	b, err := os.ReadFile("../docs/operator-guide.md")
	if err != nil {
		t.Fatal(err)
	}
	guide := strings.Join(strings.Fields(string(b)), " ") // lines rewrapped
	budget := map[string]float64{}
	for _, r := range httpRPCBudgets {
		budget[r.Name] = r.Budget
	}
	for _, tc := range []struct {
		re, budget string
	}{
		{`first visit \((\d+)\)`, "first visit, Exclusive"},
		{`a cookie naming a gone session \((\d+) in .Exclusive. mode\)`, "gone session, Exclusive"},
	} {
		m := regexp.MustCompile(tc.re).FindStringSubmatch(guide)
		if m == nil {
			t.Errorf("docs/operator-guide.md: no %q", tc.re)
			continue
		}
		if n, _ := strconv.ParseFloat(m[1], 64); n != budget[tc.budget] {
			t.Errorf("docs/operator-guide.md: %q says %s round trips; the budget %q is %.0f", m[0], m[1], tc.budget, budget[tc.budget])
		}
	}
}
