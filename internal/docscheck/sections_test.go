package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

var (
	// sectionRef is a reference to a section by its title, as prose and
	// comments write it where a link cannot go: docs/design.md, "Locking
	// protocol" or design.md ("Locking protocol"), the quotes possibly
	// escaped inside a Go string.
	sectionRef = regexp.MustCompile(`(docs/)?([a-z-]+\.md)(?:,\s+|\s+\()\\?"([^"\\]+)\\?"`)
	// sectionLead is a section title: a heading, or the bold lead of a
	// paragraph or list item (design.md names many of its parts that way).
	sectionLead = regexp.MustCompile(`^(?:#{1,6}\s+(.*)|\s*(?:[-*]\s+|\d+\.\s+)?\*\*([^*]+)\*\*)`)
	// commentJoin joins the lines of a // comment, so that a reference
	// wrapped across lines is found.
	commentJoin = regexp.MustCompile(`\n\s*//\s*`)
	// hashJoin does the same for the # comments of YAML, shell and unit
	// files, and for the lines of a YAML block scalar.
	hashJoin = regexp.MustCompile(`\n\s*#?\s*`)
)

// hashCommented reports whether a file of this name is one whose comments
// start with #: the Prometheus rules, the Kubernetes manifests, the
// Dockerfiles, the scripts and the cron and systemd files that deploy
// sessfs, where a reader is sent to a doc section too.
func hashCommented(name string) bool {
	switch filepath.Ext(name) {
	case ".yml", ".yaml", ".sh", ".cron", ".service", ".timer":
		return true
	}
	return strings.HasPrefix(name, "Dockerfile")
}

// sectionTitles returns the headings and bold leads of a Markdown file.
func sectionTitles(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	inFence := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
			continue
		}
		if m := sectionLead.FindStringSubmatch(l); m != nil && !inFence {
			titles = append(titles, strings.TrimSpace(m[1]+m[2]))
		}
	}
	return titles
}

// TestDocsSectionReferences checks that every section a doc, a Go file or
// a deploy file (see hashCommented) names by its title (docs/design.md, "Locking protocol") is one: a heading
// or a bold lead of that file starts with the quoted text. Links are
// checked by TestDocsLinks; these references are not links, and one left
// behind by a renamed section sends readers to look for what is not there.
func TestDocsSectionReferences(t *testing.T) {
	root := consumertest.RepoRoot(t)
	docs := filepath.Join(root, "docs")
	titles := map[string][]string{}
	checked := 0
	check := func(rel, text string) {
		for _, m := range sectionRef.FindAllStringSubmatch(text, -1) {
			// A reference wrapped across lines has the indentation in it.
			prefixed, name, quoted := m[1] != "", m[2], strings.Join(strings.Fields(m[3]), " ")
			path := filepath.Join(docs, name)
			if _, err := os.Stat(path); err != nil {
				if prefixed {
					t.Errorf("%s: %q names docs/%s, which does not exist", rel, m[0], name)
				}
				continue
			}
			if titles[name] == nil {
				titles[name] = sectionTitles(t, path)
			}
			checked++
			found := false
			for _, title := range titles[name] {
				if strings.HasPrefix(title, quoted) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: %q: docs/%s has no section titled %q", rel, m[0], name, quoted)
			}
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(name)
		if ext != ".go" && ext != ".md" && !hashCommented(name) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		text := string(b)
		switch ext {
		case ".go":
			text = commentJoin.ReplaceAllString(text, " ")
		case ".md":
			text = strings.ReplaceAll(text, "\n", " ")
		default:
			text = hashJoin.ReplaceAllString(text, " ")
		}
		check(rel, text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no section reference found: the extraction is broken")
	}
	t.Logf("%d section references checked", checked)
}
