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
		if MissingModules(msg) {
			SkipMissingModules(t, args, msg)
		}
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, msg)
	}
	return stdout.String()
}

// MissingModules reports whether out, the output of a go command run
// offline (GOPROXY=off), says that a module it needs is not in the module
// cache.
func MissingModules(out string) bool {
	return strings.Contains(out, "GOPROXY=off") || strings.Contains(out, "module lookup disabled")
}

// SkipMissingModules skips t, whose go command (args, run offline) found a
// module missing from the module cache, saying what was not checked and
// the command that lets it run; where SESSFS_REQUIRE_GOMODULES=1 (CI) it
// fails instead. go test lists a skip only with -v: without it the
// package says "ok", so the message leads with the command, for whoever
// runs it with -v to find at once.
func SkipMissingModules(t testing.TB, args []string, out string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "go: downloading ") { // what it found, not what it lacks
			lines = append(lines, l)
		}
	}
	if len(lines) > 5 {
		lines = append(lines[:5], fmt.Sprintf("... (%d lines more)", len(lines)-5))
	}
	testenv.Skip(t, testenv.GoModules, "NOT RUN: run `go mod download` in the repository, then this test again. "+
		"The test runs `go %s` offline (GOPROXY=off), and a module it needs is not in the module cache "+
		"(go test fetches only what its own binary imports):\n%s", strings.Join(args, " "), strings.Join(lines, "\n"))
}
