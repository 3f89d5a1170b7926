package bench

import (
	"context"
	"strings"
	"testing"
)

// TestStepLabelNamesSize: the progress line named a size in bytes
// ("16384B") where the table beside it says "16KiB"; it now names it as
// the table and --size do.
func TestStepLabelNamesSize(t *testing.T) {
	cfg := baseConfig()
	cfg.Sizes = []int{16384, 1500}
	var labels []string
	r := &Runner{Config: cfg, Targets: []Target{Noop{}}, OnStep: func(s Step) { labels = append(labels, s.Label) }}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(labels, "\n")
	for _, want := range []string{"  16KiB  ", "  1500B  "} {
		if !strings.Contains(all, want) {
			t.Errorf("no step label has %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "16384") {
		t.Errorf("a step label names 16 KiB in bytes:\n%s", all)
	}
}
