package consumertest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// heavy are the modules only the adapters, metrics/prom and the commands
// need. An application that uses the store and the middleware must not
// build, download or even require any of them.
var heavy = []string{
	"github.com/redis/",
	"github.com/prometheus/",
	"github.com/alexedwards/scs",
	"github.com/gorilla/",
	"golang.org/x/image",
	"github.com/spf13/",
	"github.com/google/renameio",
	"golang.org/x/term",
	// The web framework integrations (adapters/ginsession, echosession,
	// ginstore, the echo-contrib and chi tests) and what they pull in.
	"github.com/gin-gonic/",
	"github.com/gin-contrib/",
	"github.com/labstack/",
	"github.com/go-chi/",
	"github.com/bytedance/",
	"github.com/go-playground/",
	"github.com/quic-go/",
	"go.mongodb.org/",
	"golang.org/x/net",
	"golang.org/x/crypto",
}

// TestConsumerDependencies builds a module that imports fsstore and
// httpsession and lists what its build contains. One module is enough for
// that: the go command prunes the module graph (go 1.17 and later), so a
// consumer's build and its go.mod get only the modules whose packages it
// imports (see docs/dependencies.md).
func TestConsumerDependencies(t *testing.T) {
	dir := consumertest.NewModule(t, map[string]string{"main.go": `package main

import (
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// Both packages are linked in whole: what matters here is what their
// imports pull in, not which functions the app calls.
var _, _ = fsstore.Open, httpsession.New

func main() {}
`})
	deps := consumertest.Go(t, dir, "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", ".")
	var modules []string
	for _, l := range strings.Split(strings.TrimSpace(deps), "\n") {
		pkg, mod, _ := strings.Cut(l, " ")
		for _, h := range heavy {
			if strings.HasPrefix(mod, h) || strings.HasPrefix(pkg, h) {
				t.Errorf("the consumer's build contains %s (module %s)", pkg, mod)
			}
		}
		if mod != "" && !slices.Contains(modules, mod) {
			modules = append(modules, mod)
		}
	}
	t.Logf("modules in the build: %s", strings.Join(modules, " "))
	// The go command added the consumer's requirements: only what it builds.
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range heavy {
		if strings.Contains(string(gomod), h) {
			t.Errorf("the consumer's go.mod requires %s:\n%s", h, gomod)
		}
	}
	consumertest.Go(t, dir, "build", "-o", os.DevNull, ".")
}

// TestConsumerDependenciesDocumented holds the table of docs/dependencies.md,
// "One module, and what an application pulls in", to what an application
// importing fsstore and httpsession builds on each platform: the page said
// gofrs/flock was built with them, which only Windows does (the lock
// package calls flock(2) itself where it exists), and a dependency that
// fsstore or httpsession gains must appear there before a user finds it in
// their build.
func TestConsumerDependenciesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(consumertest.RepoRoot(t), "docs", "dependencies.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## One module, and what an application pulls in\n")
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string][]string{} // GOOS -> modules
	for _, m := range builtRow.FindAllStringSubmatch(section, -1) {
		var mods []string
		for _, c := range codeSpan.FindAllStringSubmatch(m[2], -1) {
			mods = append(mods, c[1])
		}
		slices.Sort(mods)
		for _, goos := range strings.Split(m[1], ", ") {
			documented[goos] = mods
		}
	}
	dir := consumertest.NewModule(t, map[string]string{"main.go": `package main

import (
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

var _, _ = fsstore.Open, httpsession.New

func main() {}
`})
	for _, goos := range []string{"linux", "darwin", "freebsd", "windows"} {
		want, ok := documented[goos]
		if !ok {
			t.Errorf("docs/dependencies.md, \"One module, and what an application pulls in\": no row of the table of modules built names %s", goos)
			continue
		}
		out := consumertest.GoEnv(t, dir, []string{"GOOS=" + goos, "GOARCH=amd64"},
			"list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".")
		var got []string
		for _, mod := range strings.Fields(out) {
			if mod != consumertest.ModulePath && mod != "example.com/consumer" && !slices.Contains(got, mod) {
				got = append(got, mod)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("docs/dependencies.md says an application importing fsstore and httpsession builds %v for %s; it builds %v", want, goos, got)
		}
	}
}

var (
	// builtRow is a row of the table of modules an application builds:
	// | linux, darwin | `golang.org/x/sys`, ... |
	builtRow = regexp.MustCompile("(?m)^\\| ([a-z]+(?:, [a-z]+)*) \\| (`[^|]*) \\|$")
	codeSpan = regexp.MustCompile("`([^`]+)`")
)
