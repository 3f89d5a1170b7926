package docscheck

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// serves finds a call that serves HTTP until the process ends: gin's
// r.Run, echo's e.Start, net/http's ListenAndServe(TLS) and Serve.
var serves = regexp.MustCompile(`\.(Run|Start|ListenAndServe|ListenAndServeTLS|Serve)\(`)

// TestSamplesStopBeforeClose: a Go sample of docs/*.md that opens a store
// and serves also shuts its server down (Shutdown), as the docs say every
// application must, so that the requests in flight save their sessions
// before the store is closed. docs/frameworks.md's gin-contrib sample
// served with r.Run and a deferred st.Close, which log.Fatal never ran,
// under the paragraph that says to do otherwise. README.md's quick start
// is left out: it stays minimal, and the graceful stop is its own point
// right below it.
func TestSamplesStopBeforeClose(t *testing.T) {
	root := consumertest.RepoRoot(t)
	checked := 0
	for _, md := range mdFiles(t, root) {
		blocks, _ := parseMarkdown(t, root, md)
		for _, b := range blocks {
			if b.lang != "go" || b.file == "README.md" {
				continue
			}
			code := strings.Join(b.code, "\n")
			if !strings.Contains(code, "fsstore.Open(") || !serves.MatchString(code) {
				continue
			}
			checked++
			if !strings.Contains(code, ".Shutdown(") {
				t.Errorf("%s:%d: the sample opens a store and serves, but never shuts the server down before closing the store", b.file, b.line)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no sample of docs/*.md opens a store and serves: is the check still needed?")
	}
}
