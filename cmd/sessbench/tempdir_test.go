package main_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestTempDirNotNamed: without --dir, both subcommands measure a directory
// they make under $TMPDIR and remove before printing the report. The
// report named that directory (/var/tmp/sessbench-NNN: in the target list,
// in the verdict, in sessbench http's peers), which no longer existed. It
// now says it was a temporary directory under $TMPDIR, removed after the
// run; the JSON keeps the path, marked temporary.
func TestTempDirNotNamed(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"run", append([]string{"run", "--workload", "cycle"}, quick...)},
		{"http", []string{"http", "--peers", "sessfs,gorilla-fs", "--size", "512", "--duration", "20ms", "--rounds", "1",
			"--sessions", "2", "--concurrency", "2", "--hot", "2x2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			r := run(t, []string{"TMPDIR=" + tmp}, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("temporary directory left behind: %v", ents)
			}
			removed := regexp.MustCompile(regexp.QuoteMeta(tmp) + `/sessbench-[^\s,:;)]*`)
			if m := removed.FindAllString(r.stdout+r.stderr, -1); len(m) > 0 {
				t.Errorf("the output names %q, removed before it was printed:\n%s%s", m, r.stdout, r.stderr)
			}
			if want := "a temporary directory in " + tmp; !strings.Contains(r.stdout, want) {
				t.Errorf("the output does not say %q:\n%s", want, r.stdout)
			}
		})
	}
}
