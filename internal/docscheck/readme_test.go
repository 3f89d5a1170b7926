package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// quickstartTest is added to the README's middleware example: it serves
// requests through the example's routes function, over HTTPS because the
// default cookie is Secure, as a browser with a cookie jar would.
const quickstartTest = `package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

func TestREADMEExampleServes(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewTLSServer(routes(st))
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	for _, want := range []string{"visit 1\n", "visit 2\n"} {
		resp, err := browser.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != want {
			t.Fatalf("GET /: %d %q, want 200 %q", resp.StatusCode, body, want)
		}
		for _, c := range resp.Cookies() {
			if !c.Secure || !c.HttpOnly {
				t.Errorf("cookie %s: Secure %v, HttpOnly %v; want both", c.Name, c.Secure, c.HttpOnly)
			}
		}
	}
}
`

var ciTestLine = regexp.MustCompile(`^go test -race (?:-timeout \S+ )?\./\.\.\.$`)

// TestREADMEQuickStart follows the README as a new user would, in a new
// module outside the repository: the go get line it gives (resolved to this
// checkout by a replace directive), then its first Go example, which must
// be the net/http middleware one, compiled and serving requests.
func TestREADMEQuickStart(t *testing.T) {
	root := consumertest.RepoRoot(t)
	blocks, _ := parseMarkdown(t, root, filepath.Join(root, "README.md"))

	// The README opens with the two set-up commands: the main job on an
	// embedded default, and the whole test suite, exactly the command CI
	// runs (so a new machine and CI run the same tests the same way).
	first := blocks[0]
	var run, test string
	for _, l := range first.code {
		cmd, _, _ := strings.Cut(l, "#")
		cmd = strings.TrimSpace(cmd)
		switch {
		case strings.HasPrefix(cmd, "go run "):
			run = cmd
		case strings.HasPrefix(cmd, "go test "):
			test = cmd
		}
	}
	if first.line > 4 || run != "go run ./cmd/sessbench run" || !ciTestLine.MatchString(test) {
		t.Errorf("README:%d: the first block must hold the two set-up commands, go run ./cmd/sessbench run and go test -race [-timeout D] ./...; have %q and %q", first.line, run, test)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if test == "" || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(test)+`$`).Match(ci) {
		t.Errorf(".ci/run does not run the README's test command %q as written", test)
	}

	var goGet []string
	var example *block
	for i, b := range blocks {
		switch {
		case b.lang == "sh" && goGet == nil:
			for _, l := range b.code {
				if f := strings.Fields(l); len(f) >= 3 && f[0] == "go" && f[1] == "get" {
					goGet = f[1:]
				}
			}
		case b.lang == "go" && example == nil:
			example = &blocks[i]
		}
	}
	if len(goGet) != 2 || goGet[1] != consumertest.ModulePath {
		t.Fatalf("README: no `go get %s` line in a sh block (found %q)", consumertest.ModulePath, goGet)
	}
	if example == nil {
		t.Fatal("README: no Go example")
	}
	src := strings.Join(example.code, "\n")
	if !strings.HasPrefix(firstCodeLine(example.code), "package main") ||
		!strings.Contains(src, `"github.com/sessfs/sessfs/httpsession"`) || !strings.Contains(src, "func routes(") {
		t.Fatalf("README:%d: the first Go example must be the complete net/http middleware program (package main, importing httpsession, with a routes function the test serves)", example.line)
	}

	dir := t.TempDir()
	gomod := "module example.com/quickstart\n\ngo 1.26.0\n\nreplace " + consumertest.ModulePath + " => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"go.mod": gomod, "go.sum": string(sum), "main.go": src + "\n", "main_test.go": quickstartTest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := goCmd(t, dir, goGet...); err != nil {
		t.Fatalf("README's go %s: %v\n%s", strings.Join(goGet, " "), err, out)
	}
	if out, err := goCmd(t, dir, "vet", "."); err != nil {
		t.Fatalf("README's middleware example: go vet: %v\n%s", err, out)
	}
	if out, err := goCmd(t, dir, "test", "-count=1", "."); err != nil {
		t.Fatalf("README's middleware example does not serve: %v\n%s", err, out)
	}
}

// ciPackageInREADME is the word by which the README's first block names
// each Debian package .ci/run installs before the tests: its test command's
// comment says what a new machine needs so that the command runs (gcc, for
// -race) and nothing skips. "" marks a package that is part of another one
// named (gcc's C library headers, the NFS harness's tools) or
// that no test needs (buildah builds the container images in a step of its
// own).
var ciPackageInREADME = map[string]string{
	"gcc":               "gcc",
	"libc6-dev":         "",
	"user-mode-linux":   "UML",
	"nfs-kernel-server": "NFS",
	"kmod":              "",
	"iproute2":          "",
	"redis-server":      "Redis",
	"chromium":          "Chromium",
	"prometheus":        "Prometheus",
	"buildah":           "",
	"bindfs":            "bindfs",
	"e2fsprogs":         "e2fsprogs",
	"dosfstools":        "dosfstools",
	"fusefat":           "fusefat",
	"python3":           "python3",
	"systemd":           "systemd",
}

var ciPackages = regexp.MustCompile(`(?m)^pkgs=\(([^)]*)\)`)

// TestREADMENamesCIPackages: the README's test command says what .ci/run
// installs so that no test skips; a package added there for a test must be
// named there too, or a developer who runs the command on a machine of
// their own sees that test skip and takes the run for complete.
func TestREADMENamesCIPackages(t *testing.T) {
	root := consumertest.RepoRoot(t)
	blocks, _ := parseMarkdown(t, root, filepath.Join(root, "README.md"))
	first := strings.Join(blocks[0].code, "\n")
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	m := ciPackages.FindSubmatch(ci)
	if m == nil {
		t.Fatal(".ci/run: no pkgs=(...) line: the package list moved, update this test")
	}
	for _, pkg := range strings.Fields(string(m[1])) {
		word, known := ciPackageInREADME[pkg]
		switch {
		case !known:
			t.Errorf(".ci/run installs %s, which this test does not know: name it in the README's test command comment if a test needs it, and add it to ciPackageInREADME", pkg)
		case word != "" && !regexp.MustCompile(`\b`+regexp.QuoteMeta(word)+`\b`).MatchString(first):
			t.Errorf("README:%d: the test command's comment does not name %s (Debian package %s), which .ci/run installs for the tests", blocks[0].line, word, pkg)
		}
	}
}
