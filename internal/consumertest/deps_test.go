package consumertest_test

import (
	"os"
	"path/filepath"
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
