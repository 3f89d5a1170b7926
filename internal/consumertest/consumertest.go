// Package consumertest builds small modules that use sessfs as an
// application would, from outside the repository: a go.mod that requires
// github.com/sessfs/sessfs with a replace directive to this checkout, and
// the go command run offline against the module cache. Tests use it to
// check what a consumer's build pulls in and what the README tells users
// to write.
package consumertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
)

// ModulePath is the path the consumer modules require.
const ModulePath = "github.com/sessfs/sessfs"

// RepoRoot returns the directory of this checkout's go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	out := Go(t, "", "env", "GOMOD")
	gomod := strings.TrimSpace(out)
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("not inside the sessfs module (go env GOMOD = %q)", gomod)
	}
	return filepath.Dir(gomod)
}

// NewModule writes a consumer module named example.com/consumer into a new
// temporary directory and returns it. Its go.mod requires sessfs, replaced
// by this checkout; its go.sum is the repository's, so that every
// checksum resolves without the checksum database. files maps names to
// contents (main.go, ...).
func NewModule(t testing.TB, files map[string]string) string {
	t.Helper()
	root := RepoRoot(t)
	dir := t.TempDir()
	gomod := fmt.Sprintf("module example.com/consumer\n\ngo 1.26.0\n\nrequire %s v0.0.0\n\nreplace %s => %s\n", ModulePath, ModulePath, root)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files["go.mod"], files["go.sum"] = gomod, string(sum)
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Go runs the go command in dir ("": the current directory) offline:
// modules come from the module cache only (GOPROXY=off) and go.mod may be
// completed (-mod=mod). It returns stdout. When go is missing, or a module
// is not in the cache, the test is skipped, or fails where
// SESSFS_REQUIRE_GOMODULES=1 (CI).
func Go(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return GoEnv(t, dir, nil, args...)
}

// GoEnv is Go with extra environment variables, which win over the
// defaults.
func GoEnv(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, testenv.GoModules, "no go command: %v", err)
	}
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if strings.Contains(msg, "GOPROXY=off") || strings.Contains(msg, "module lookup disabled") {
			testenv.Skip(t, testenv.GoModules, "go %s: a module is not in the module cache and the test runs offline (run go mod download in the repository first): %s",
				strings.Join(args, " "), msg)
		}
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, msg)
	}
	return stdout.String()
}
