package consumertest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// TestSourceBuildVersion builds sessgc from a git clone of this checkout,
// as a developer would, and checks that --version names the commit, and
// says "+dirty" once the tree has uncommitted changes.
func TestSourceBuildVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles sessgc; skipped with -short")
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git command")
	}
	root := consumertest.RepoRoot(t)
	if err := exec.Command(gitBin, "-C", root, "rev-parse", "HEAD").Run(); err != nil {
		t.Skipf("%s is not a git checkout", root)
	}
	clone := filepath.Join(t.TempDir(), "sessfs")
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(gitBin, append([]string{"-C", clone}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(gitBin, "clone", "-q", "--no-hardlinks", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	rev := git("rev-parse", "HEAD")[:12]
	version := func() string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "sessgc")
		// -buildvcs=true: stamping is what is tested, whatever GOFLAGS the
		// machine sets; -trimpath keeps the build cache shared with other
		// builds of the same sources.
		consumertest.GoEnv(t, clone, []string{"GOFLAGS=-buildvcs=true -trimpath"}, "build", "-o", bin, "./cmd/sessgc")
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("sessgc --version: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	v := version()
	t.Logf("clean: %s", v)
	if !strings.Contains(v, rev) || strings.Contains(v, "dirty") || strings.Contains(v, "modified") {
		t.Errorf("clean checkout at %s: --version = %q, want the commit and no modification", rev, v)
	}
	if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v = version()
	t.Logf("modified: %s", v)
	if !strings.Contains(v, rev) || !strings.Contains(v, "+dirty") && !strings.Contains(v, "modified") {
		t.Errorf("modified checkout at %s: --version = %q, want the commit and +dirty or modified", rev, v)
	}
}
