package fsstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// goldenKey is the key testdata/upgrade's keyed stores were written with
// (see testdata/upgrade/README.md). It protects nothing.
var goldenKey = fsstore.Key{ID: 1, Secret: []byte("golden-record-key-for-tests-only")}

// A later version may add a line to the marker, which this build parses
// and does not understand. A host of this version still running during
// the rolling deploy that rewrites the marker (a raise of the max idle, the
// encrypted mark) must write that line back: it erased it, and the
// upgraded hosts lost whatever the line told them.
func TestMarkerRewriteKeepsLaterVersionsLines(t *testing.T) {
	const later = "later-version-line 7\n"
	for _, tc := range []struct {
		name    string
		rewrite []fsstore.Option // an Open that rewrites the marker
		want    string           // the line the rewrite is for
	}{
		{"raise", []fsstore.Option{fsstore.WithIdleTimeout(2 * time.Hour)}, "max-idle-seconds 7200\n"},
		{"encrypted mark", []fsstore.Option{fsstore.WithKeys(goldenKey)}, "encrypted 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := openDir(t, dir).Close(); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fsstore.MarkerFile)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(b, later...), 0o600); err != nil {
				t.Fatal(err)
			}
			openDir(t, dir, tc.rewrite...)
			if b, err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.want) {
				t.Fatalf("marker after the %s: %q, without %q", tc.name, b, tc.want)
			}
			if !strings.HasSuffix(string(b), later) {
				t.Fatalf("marker after the %s: %q, lost the later version's %q", tc.name, b, later)
			}
		})
	}
}
