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

// A rewrite adds to the marker (the encrypted mark's line, a raise's
// digits). One that a later version's lines had filled to the limit of
// what a marker may hold was written all the same, and from then on
// every host, of every version, refused the store as not one ("marker
// file too large"). The rewrite is refused instead, with the marker left
// as it was, and the store opens as before.
func TestMarkerRewritePastTheLimitRefused(t *testing.T) {
	const limit = 4096 // what every build so far parses
	for _, tc := range []struct {
		name    string
		rewrite []fsstore.Option // an Open that rewrites the marker
	}{
		{"raise", []fsstore.Option{fsstore.WithIdleTimeout(fsstore.MaxIdleTimeout)}},
		{"encrypted mark", []fsstore.Option{fsstore.WithKeys(goldenKey)}},
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
			// A later version's lines fill the marker to the limit.
			pad := limit - len(b) - len("later- 1\n")
			b = append(b, "later-"+strings.Repeat("x", pad)+" 1\n"...)
			if len(b) != limit {
				t.Fatalf("test marker is %d bytes, want %d", len(b), limit)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if s, err := fsstore.Open(dir, tc.rewrite...); err == nil {
				s.Close()
				t.Errorf("the %s's Open succeeded; want it refused: the marker has no room for it", tc.name)
			} else if !strings.Contains(err.Error(), "marker") {
				t.Errorf("the %s's Open: %v; want the marker's lack of room named", tc.name, err)
			}
			if got, err := os.ReadFile(p); err != nil || string(got) != string(b) {
				t.Errorf("marker after the refused %s: %d bytes, %v; want it unchanged", tc.name, len(got), err)
			}
			// Still a store to every host (a keyless one is refused by the
			// key check file the keyed Open wrote first, as it should be).
			if _, _, _, err := fsstore.ReadLayout(dir); err != nil {
				t.Errorf("after the refused %s: %v", tc.name, err)
			}
		})
	}
}
