//go:build unix

package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLeftoverCommandRemovesOnlyThem: the command a run's leftover note
// gives, run by a POSIX shell, removes the leftover directories the note
// names and nothing else in that directory. It was a glob
// (rm -rf -- /var/tmp/sessbench-[0-9]* /var/tmp/sessbench-http-[0-9]*),
// which also matched the operator's own files and directories whose names
// begin that way, in a directory every program shares: the chart of an
// earlier run saved as /var/tmp/sessbench-20261207.svg went with the
// leftovers, and so did a file by a leftover's name beside a --dir's.
func TestLeftoverCommandRemovesOnlyThem(t *testing.T) {
	for _, tt := range tinyCommands() {
		for _, viaTmp := range []bool{false, true} {
			name := tt.name + "/--dir"
			if viaTmp {
				name = tt.name + "/TMPDIR"
			}
			t.Run(name, func(t *testing.T) {
				d := t.TempDir()
				left := []string{".sessbench-1234567", ".sessbench-http-7654321"}
				mine := []string{".sessbench-notes.txt", "sessbench-20261207.svg", "sessbench-2026-12-07"}
				args := append(slices.Clone(tt.args), "--dir", d)
				env := []string{"TMPDIR=" + t.TempDir()}
				if viaTmp {
					left = []string{"sessbench-1234567", "sessbench-http-7654321"}
					args, env = tt.args, []string{"TMPDIR=" + d}
				}
				for _, n := range left {
					if err := os.MkdirAll(filepath.Join(d, n, "data"), 0o700); err != nil {
						t.Fatal(err)
					}
				}
				for _, n := range mine {
					if err := os.WriteFile(filepath.Join(d, n), []byte("mine"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				r := run(t, env, args...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				_, cmd, ok := strings.Cut(strings.TrimSpace(r.stderr), "remove them: ")
				if !ok {
					t.Fatalf("stderr gives no command:\n%s", r.stderr)
				}
				cmd, _, _ = strings.Cut(cmd, "\n")
				if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v: %s", cmd, err, out)
				}
				for _, n := range left {
					if _, err := os.Lstat(filepath.Join(d, n)); !os.IsNotExist(err) {
						t.Errorf("%s left %s (%v)", cmd, n, err)
					}
				}
				for _, n := range mine {
					if _, err := os.Lstat(filepath.Join(d, n)); err != nil {
						t.Errorf("%s removed the operator's %s: %v", cmd, n, err)
					}
				}
			})
		}
	}
}
