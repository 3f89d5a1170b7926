package report

import (
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// TestSizesTellApart: two --size values that are no whole number of KiB,
// 1500 and 1536 bytes, both printed "1.5KiB" in the table, the verdict
// and the chart, so that their rows could not be told apart. Each is now
// printed exactly, as --size takes it.
func TestSizesTellApart(t *testing.T) {
	targets := []Target{{Name: "local", Info: bench.Info{Kind: "fs", Location: "/var/tmp/bench", FSType: "ext4"}}}
	var results []*bench.Result
	for _, size := range []int{1500, 1536, 16384} {
		r := result("local", bench.Cycle, 1, time.Millisecond, 10)
		r.Size = size
		results = append(results, r)
	}
	cfg := Config{Workloads: []string{"cycle"}, PayloadSizes: []int{1500, 1536, 16384}, Concurrency: []int{1}, Rounds: 1}
	rep := Build(cfg, targets, results, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
	var b strings.Builder
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" 1500B ", " 1536B ", " 16KiB ", "with 1500B sessions"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
}
