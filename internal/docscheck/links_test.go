package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`^#{1,6}\s+(.*)$`)
	// anchorDrop is what GitHub removes from a heading to make its anchor.
	anchorDrop = regexp.MustCompile(`[^\p{L}\p{N}\s_-]`)
)

// anchors returns the heading anchors of a Markdown file, as GitHub makes
// them: lower case, punctuation dropped, spaces as dashes, and -1, -2, ...
// for repeated headings.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set, seen := map[string]bool{}, map[string]int{}
	inFence := false
	for _, l := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "```") {
			inFence = !inFence
			continue
		}
		m := heading.FindStringSubmatch(l)
		if inFence || m == nil {
			continue
		}
		a := strings.ReplaceAll(anchorDrop.ReplaceAllString(strings.ToLower(strings.TrimSpace(m[1])), ""), " ", "-")
		if n := seen[a]; n > 0 {
			set[a+"-"+string(rune('0'+n))] = true
		} else {
			set[a] = true
		}
		seen[a]++
	}
	return set
}

// TestDocsLinks checks that every relative link of README.md and docs/*.md
// names a file of the repository, and its #anchor a heading of that file.
func TestDocsLinks(t *testing.T) {
	root := consumertest.RepoRoot(t)
	cache := map[string]map[string]bool{}
	for _, md := range mdFiles(t, root) {
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, md)
		for i, l := range strings.Split(string(b), "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				path := md
				if file != "" {
					path = filepath.Join(filepath.Dir(md), filepath.FromSlash(file))
					if _, err := os.Stat(path); err != nil {
						t.Errorf("%s:%d: link %s: %v", rel, i+1, target, err)
						continue
					}
				}
				if anchor == "" || !strings.HasSuffix(path, ".md") {
					continue
				}
				if cache[path] == nil {
					cache[path] = anchors(t, path)
				}
				if !cache[path][anchor] {
					t.Errorf("%s:%d: link %s: no heading with anchor #%s", rel, i+1, target, anchor)
				}
			}
		}
	}
}
