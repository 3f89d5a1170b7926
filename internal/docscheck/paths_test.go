package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// repoPath is a code span that reads as a path in the repository: no
// space, a slash, and no placeholder (<shard>, *, …) or URL.
var repoPath = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)+/?$`)

// TestDocsPathsExist: every file or directory of the repository that the
// README or a doc writes in a code span (`scripts/sessgc.cron`,
// `fsstore/nfs_test.go`, `deploy/kubernetes/`) exists, as TestDocsLinks
// holds the links to them: a span naming a file that was moved or removed
// sends readers looking for it. A span whose first element is not at the
// top of the repository (`data/ab/...`, `/etc/cron.d`) is a path on a host
// or in a store, and is not checked; a package path may end in one of its
// names (`cmd/internal/cmdutil.WriteFile`).
func TestDocsPathsExist(t *testing.T) {
	root := consumertest.RepoRoot(t)
	checked := 0
	for _, md := range mdFiles(t, root) {
		_, spans := parseMarkdown(t, root, md)
		for _, s := range spans {
			if historicalDocs[filepath.ToSlash(s.file)] || !repoPath.MatchString(s.text) {
				continue
			}
			top, _, _ := strings.Cut(s.text, "/")
			if _, err := os.Stat(filepath.Join(root, top)); err != nil {
				continue
			}
			checked++
			p := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(s.text, "/")))
			if _, err := os.Stat(p); err == nil {
				continue
			}
			if dir, name, ok := cutLast(p, "."); ok && name != "" && name[0] >= 'A' && name[0] <= 'Z' {
				if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
					continue
				}
			}
			t.Errorf("%s:%d: `%s` is no file or directory of the repository", s.file, s.line, s.text)
		}
	}
	if checked < 30 {
		t.Fatalf("only %d repository paths found in the docs: the extraction is broken", checked)
	}
	t.Logf("%d paths checked", checked)
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
