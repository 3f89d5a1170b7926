package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

var (
	// scsBudget is a row of fsstore's nfsSCSRPCBudgets: the round trips
	// of a scsstore operation that the NFS suite asserts, with the delete
	// guard or without it, or (no mode) either way.
	scsBudget = regexp.MustCompile(`\{"scs ([^"]+?)(?:, (guard|no guard))?", (\d+)\}`)
	// scsDocRow is a row of the round-trip table in scsstore's package
	// doc: operation, with the guard, without it.
	scsDocRow = regexp.MustCompile(`^//\s+((?:Find|Commit|Delete)[^0-9]*?)\s{2,}(\d+(?: / \d+)?)\s+(\d+(?: / \d+)?)\b`)
	// scsMDRow is a row of docs/benchmarks.md's scsstore table.
	scsMDRow = regexp.MustCompile(`^\| ((?:Find|Commit|Delete), [^|]+?) \| (\d+) \| (\d+) \|`)
)

// TestSCSRoundTripTables: the round trips per scsstore operation that its
// package doc and docs/benchmarks.md give are the budgets the NFS suite
// asserts (fsstore's nfsSCSRPCBudgets), so that a budget changed with the
// code is changed in the docs as well: the package doc kept a commit of a
// new session at 11 after the budget became 12.
func TestSCSRoundTripTables(t *testing.T) {
	root := consumertest.RepoRoot(t)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	budgets := map[string]int{} // "op|guard" or "op|no guard"
	for _, m := range scsBudget.FindAllStringSubmatch(read("fsstore/nfs_scs_rpc_test.go"), -1) {
		n, _ := strconv.Atoi(m[3])
		if m[2] == "" {
			budgets[m[1]+"|guard"], budgets[m[1]+"|no guard"] = n, n
			continue
		}
		budgets[m[1]+"|"+m[2]] = n
	}
	if len(budgets) < 10 {
		t.Fatalf("found %d scsstore budgets in fsstore/nfs_scs_rpc_test.go; the pattern no longer matches", len(budgets))
	}
	check := func(where, op, mode, got string) {
		t.Helper()
		want, ok := budgets[op+"|"+mode]
		if !ok {
			t.Errorf("%s: %q (%s) has no budget in fsstore/nfs_scs_rpc_test.go", where, op, mode)
			return
		}
		if got != strconv.Itoa(want) {
			t.Errorf("%s: %q (%s) says %s round trips; the NFS suite's budget is %d", where, op, mode, got, want)
		}
	}

	rows := 0
	for _, l := range strings.Split(read("adapters/scsstore/scsstore.go"), "\n") {
		m := scsDocRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rows++
		op := strings.Replace(m[1], "another host did", "other host wrote last", 1)
		for i, mode := range []string{"guard", "no guard"} {
			got := m[2+i]
			if op == "Find (either)" {
				// "this host / another host".
				this, other, _ := strings.Cut(got, " / ")
				check("scsstore package doc", "Find, this host wrote last", mode, this)
				check("scsstore package doc", "Find, other host wrote last", mode, other)
				continue
			}
			check("scsstore package doc", op, mode, got)
		}
	}
	if rows < 6 {
		t.Errorf("found %d rows of the round-trip table in scsstore's package doc; the pattern no longer matches", rows)
	}

	rows = 0
	for _, l := range strings.Split(read("docs/benchmarks.md"), "\n") {
		m := scsMDRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rows++
		check("docs/benchmarks.md", m[1], "guard", m[2])
		check("docs/benchmarks.md", m[1], "no guard", m[3])
	}
	if rows < 7 {
		t.Errorf("found %d rows of the scsstore table in docs/benchmarks.md; the pattern no longer matches", rows)
	}
}
