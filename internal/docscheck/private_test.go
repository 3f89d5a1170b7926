package docscheck

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// private matches references readers of the repository cannot follow: the
// tracker numbers of the team that wrote it, and paths on its machines.
// Built from pieces so that this file does not match itself.
var private = regexp.MustCompile(`(?i)\b` + `issue` + `s? #?[0-9]+|\.\./` + `shared/|(?:^|[\s("'` + "`" + `])/` + `work/`)

// TestNoPrivateReferences keeps code, comments, docs and scripts free of
// pointers readers cannot see: every figure and reason must be stated in
// the repository itself.
func TestNoPrivateReferences(t *testing.T) {
	root := consumertest.RepoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") && name != ".ci" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".md", ".sh", ".service", ".timer", ".cron", ".php", ".mod", "":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Lines only in a file that holds a word every match has: line
		// by line, the regexp took 10 s of CPU over the repository's
		// 11 MB under the race detector.
		low := bytes.ToLower(b)
		if !bytes.Contains(low, []byte("issue")) && !bytes.Contains(low, []byte("shared/")) && !bytes.Contains(low, []byte("work/")) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for i, l := range strings.Split(string(b), "\n") {
			if m := private.FindString(l); m != "" {
				t.Errorf("%s:%d: %q points at something readers cannot see: state it here instead", rel, i+1, strings.TrimSpace(m))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
