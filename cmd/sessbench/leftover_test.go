package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLeftoverNoted: a run in a --dir that holds the directory of a run
// killed before its cleanup (SIGKILL, a reboot) says so on stderr, with
// the command that removes them, and leaves it alone: another host's run
// may be using it. Before, nothing said so, and the killed run's sessions
// stayed on the mount for good unless the operator had read the guide.
func TestLeftoverNoted(t *testing.T) {
	for _, tt := range tinyCommands() {
		t.Run(tt.name, func(t *testing.T) {
			d := benchDir(t)
			left := filepath.Join(d, ".sessbench-1234567")
			if err := os.MkdirAll(filepath.Join(left, "data"), 0o700); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, d)
			r := run(t, nil, append(slices.Clone(tt.args), "--dir", d)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, ".sessbench-1234567") || !strings.Contains(r.stderr, "rm -rf -- "+left) {
				t.Errorf("stderr does not name the leftover directory and how to remove it:\n%s", r.stderr)
			}
			if after := snapshot(t, d); !slices.Equal(before, after) {
				t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestTempLeftoverNoted: a run without --dir says on stderr when its
// temporary directory's parent ($TMPDIR, else /var/tmp) holds the
// temporary directories of other runs without --dir, with the command
// that removes them, and leaves them alone. A run killed there left its
// sessions (up to --sessions of every --size) on the local disk, and
// nothing named them: a later run's note covered --dir only.
func TestTempLeftoverNoted(t *testing.T) {
	for _, tt := range tinyCommands() {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			for _, d := range []string{"sessbench-1234567/.sessbench-89", "sessbench-http-7654321", "sessbench-results"} {
				if err := os.MkdirAll(filepath.Join(tmp, d), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, tmp)
			r := run(t, []string{"TMPDIR=" + tmp}, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, want := range []string{"sessbench-1234567", "sessbench-http-7654321", "rm -rf -- " + filepath.Join(tmp, "sessbench-1234567") + " " + filepath.Join(tmp, "sessbench-http-7654321")} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "sessbench-results") {
				t.Errorf("stderr names a directory no run made:\n%s", r.stderr)
			}
			if after := snapshot(t, tmp); !slices.Equal(before, after) {
				t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// tinyCommands are the shortest runs of sessbench's two commands that
// make a store: the leftover tests run each.
func tinyCommands() []struct {
	name string
	args []string
} {
	return []struct {
		name string
		args []string
	}{
		{"run", append([]string{"run"}, tiny...)},
		{"http", []string{"http", "--peers", "sessfs", "--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0"}},
	}
}
