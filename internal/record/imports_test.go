package record_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyFsstoreImportsRecord keeps the record format behind fsstore's
// API: a package that parses records itself (as the scs adapter once did)
// silently breaks on encrypted stores and skips the store's checks. Only
// fsstore, and this package, may import it, tests included.
func TestOnlyFsstoreImportsRecord(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-test",
		"-f", `{{.ImportPath}}|{{join .Imports " "}}`, "github.com/sessfs/sessfs/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const rec = "github.com/sessfs/sessfs/internal/record"
	allowed := func(pkg string) bool {
		pkg, _, _ = strings.Cut(pkg, " ") // "p [p.test]" test variants
		pkg = strings.TrimSuffix(pkg, "_test")
		return pkg == rec || pkg == "github.com/sessfs/sessfs/fsstore" || strings.HasSuffix(pkg, ".test")
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, "|")
		for _, imp := range strings.Fields(imports) {
			if imp != rec {
				continue
			}
			seen++
			if !allowed(pkg) {
				t.Errorf("%s imports %s: use fsstore's API (Load, Range) instead", pkg, rec)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no package imports the record package: is the go list pattern right?")
	}
}
