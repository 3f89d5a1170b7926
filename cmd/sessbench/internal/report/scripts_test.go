package report_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/httppeers"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/report"
	"github.com/sessfs/sessfs/internal/consumertest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestScriptsFormatAsSessbench: the scripts that turn sessbench's --json
// into the documentation's tables print a latency as sessbench prints it:
// scripts/nfs-sessbench.sh's d as report.FormatDuration (a blank before
// the unit), scripts/bench-tables.py's http_t as httppeers.FormatNS. Each
// had a copy of the old rule, which picked the unit and the decimals
// before rounding: 999.6 µs was "1000 µs" beside sessbench's 1.00 ms, and
// 99.96 µs "100.0 µs". The values are every power of ten's boundary and
// its neighbours, and exact halves at each precision, which all round up
// (report.RoundDiv) where FormatNS rounded some down and the script up.
func TestScriptsFormatAsSessbench(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skip(t, testenv.Python, "python3 not installed (apt-get install python3)")
	}
	root := consumertest.RepoRoot(t)
	var ns []int64
	for p := int64(1); p <= 1e11; p *= 10 {
		for _, f := range []float64{0.5, 0.9994, 0.99949, 0.9995, 0.99951, 0.9996, 0.9999, 1, 1.0004, 1.0005, 1.005, 2.345} {
			ns = append(ns, int64(float64(p)*f))
		}
		ns = append(ns, p-1, p, p+1)
		// Exact halves at every precision of both: one rule, up.
		ns = append(ns, p*1005/1000, p*1235/1000, p*12345/10000, p*9995/1000, p*99995/10000)
	}
	var list []string
	for _, n := range ns {
		list = append(list, strconv.FormatInt(n, 10))
	}
	// d is the one function of the script's embedded Python that prints a
	// latency; bench-tables.py imports as a module.
	prog := `
import importlib.util, sys
root = sys.argv[1]
spec = importlib.util.spec_from_file_location("bench_tables", root + "/scripts/bench-tables.py")
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)
lines = open(root + "/scripts/nfs-sessbench.sh", encoding="utf-8").read().split("\n")
i = lines.index("def d(ns):")
j = i + 1
while j < len(lines) and lines[j].startswith(" "):
    j += 1
env = {}
exec("\n".join(lines[i:j]), env)
for n in map(int, sys.argv[2].split(",")):
    print(n, env["d"](n), "|", bt.http_t(n), sep="\t")
`
	cmd := exec.Command(py, "-c", prog, root, strings.Join(list, ","))
	cmd.Dir = filepath.Join(root, "scripts")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	blank := regexp.MustCompile(`^(-?[0-9.]+)`)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("python3 printed %q", line)
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		if want := blank.ReplaceAllString(report.FormatDuration(time.Duration(n)), "$1 "); f[1] != want {
			t.Errorf("nfs-sessbench.sh d(%d) = %q, sessbench prints %q", n, f[1], want)
		}
		if want := httppeers.FormatNS(n); f[3] != want {
			t.Errorf("bench-tables.py http_t(%d) = %q, sessbench http prints %q", n, f[3], want)
		}
	}
	if len(strings.Split(strings.TrimSpace(string(out)), "\n")) != len(ns) {
		t.Fatalf("python3 printed %d lines for %d values:\n%s", len(strings.Split(string(out), "\n")), len(ns), out)
	}
}
