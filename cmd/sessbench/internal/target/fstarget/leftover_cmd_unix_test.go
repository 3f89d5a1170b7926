//go:build unix

package fstarget

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeftoverCommandRuns: the commands the notes give, run by a POSIX
// shell, do what they say for any --dir: the leftover note's removes the
// leftover runs' directories in it and nothing else, and the missing
// --dir's hint makes that directory. A --dir beginning with '-' made rm
// and mkdir read it as options ("rm -rf -bench/.sessbench-*": rm: invalid
// option), and the leftovers stayed.
func TestLeftoverCommandRuns(t *testing.T) {
	for _, dir := range []string{"-bench", "-", "--", "my bench", "it's", "a*b", "$HOME", "bench"} {
		t.Run(dir, func(t *testing.T) {
			cwd := t.TempDir()
			t.Chdir(cwd)
			for _, d := range []string{filepath.Join(dir, ".sessbench-1", "data"), filepath.Join(dir, "keep"), filepath.Join("bench", ".sessbench-2"), "rf"} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			note := LeftoverNote(dir)
			_, cmd, ok := strings.Cut(note, "remove them: ")
			if !ok {
				t.Fatalf("note without a command: %q", note)
			}
			if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
				t.Errorf("%s: %v: %s", cmd, err, out)
			}
			gone := filepath.Join(dir, ".sessbench-1")
			if _, err := os.Lstat(gone); !os.IsNotExist(err) {
				t.Errorf("%s left %s (%v)", cmd, gone, err)
			}
			for _, kept := range []string{filepath.Join(dir, "keep"), "rf"} {
				if _, err := os.Lstat(kept); err != nil {
					t.Errorf("%s removed %s: %v", cmd, kept, err)
				}
			}
			if dir != "bench" {
				if _, err := os.Lstat(filepath.Join("bench", ".sessbench-2")); err != nil {
					t.Errorf("%s removed another directory's leftover: %v", cmd, err)
				}
			}
			made := dir + "-new"
			mk := mkdirCommand("linux", made)
			if out, err := exec.Command("sh", "-c", mk).CombinedOutput(); err != nil {
				t.Errorf("%s: %v: %s", mk, err, out)
			}
			if fi, err := os.Stat(made); err != nil || !fi.IsDir() {
				t.Errorf("%s did not make %q: %v", mk, made, err)
			}
		})
	}
}
