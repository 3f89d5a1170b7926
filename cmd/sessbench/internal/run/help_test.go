package run

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
)

// helpScreen is how many lines run --help may take: about two screens of
// a terminal. It took 177, the flags after 150 lines of reference text, so
// that a user deciding whether the mount's latency is acceptable read
// past how percentiles are rounded to find --dir.
const helpScreen = 80

// firstFlags are the flags a first run is made of: what to measure, and
// how to read it. The help lists them before those that tune a run.
var firstFlags = []string{"dir", "redis", "workload", "size", "concurrency", "duration", "json"}

// TestHelpShowsTheFlagsThatMatterFirst: run --help fits helpScreen lines,
// lists firstFlags before every other flag, and lists each flag once: the
// others are grouped after them, not dropped.
func TestHelpShowsTheFlagsThatMatterFirst(t *testing.T) {
	r := cmdtest.Run(t, NewCmdRun, nil, []string{"--help"}, nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	lines := strings.Split(strings.TrimRight(r.Out, "\n"), "\n")
	if len(lines) > helpScreen {
		t.Errorf("run --help is %d lines, want at most %d", len(lines), helpScreen)
	}
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--([\w-]+)\b`)
	var order []string
	usage := slices.Index(lines, "Usage:") // the text above may quote flags
	if usage < 0 {
		t.Fatalf("run --help has no usage:\n%s", r.Out)
	}
	for _, l := range lines[usage:] {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			order = append(order, m[1])
		}
	}
	NewCmdRun(nil, nil).Flags().VisitAll(func(f *pflag.Flag) {
		if n := strings.Count(" "+strings.Join(order, " ")+" ", " "+f.Name+" "); n != 1 && f.Name != "help" {
			t.Errorf("--%s listed %d times in run --help, want once", f.Name, n)
		}
	})
	if len(order) < len(firstFlags) || !slices.Equal(slices.Sorted(slices.Values(order[:len(firstFlags)])), slices.Sorted(slices.Values(firstFlags))) {
		t.Errorf("run --help lists the flags in the order %v; want %v first", order, firstFlags)
	}
}
