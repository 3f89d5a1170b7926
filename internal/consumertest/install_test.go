package consumertest_test

import (
	"archive/zip"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
)

// TestInstallVersion installs sessgc as a user would,
// "go install github.com/sessfs/sessfs/cmd/sessgc@v1.2.3", from a module
// proxy made of this checkout (a directory served with file://; the
// dependencies come from the module cache), and checks that --version
// names the version. sessbench takes its version from the same code
// (cmd/internal/cmdutil), so one install is enough; the first run
// compiles the command and its dependencies afresh, which takes a minute.
func TestInstallVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles sessgc and its dependencies from scratch; skipped with -short")
	}
	const version = "v1.2.3"
	root := consumertest.RepoRoot(t)
	gomodcache := strings.TrimSpace(consumertest.Go(t, "", "env", "GOMODCACHE"))
	proxy := t.TempDir()
	writeProxy(t, proxy, root, version)
	bin := t.TempDir()
	env := []string{
		"GOPROXY=file://" + filepath.ToSlash(proxy) + ",file://" + filepath.ToSlash(filepath.Join(gomodcache, "cache", "download")),
		// Offline, and the test version is in no checksum database; the
		// checksums are not what this test is about.
		"GOSUMDB=off",
		// A removable module cache; -trimpath shares the build cache
		// across runs, whose module caches differ.
		"GOFLAGS=-modcacherw -trimpath",
		"GOMODCACHE=" + t.TempDir(), // the user's cache never holds the test version
		"GOBIN=" + bin,
		"GOTOOLCHAIN=local",
	}
	for _, name := range []string{"sessgc"} {
		consumertest.GoEnv(t, "", env, "install", consumertest.ModulePath+"/cmd/"+name+"@"+version)
		out, err := exec.Command(filepath.Join(bin, name), "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", name, err, out)
		}
		if want := name + " " + version + ", go"; !strings.HasPrefix(string(out), want) {
			t.Errorf("%s --version = %q, want %q...", name, out, want)
		}
	}
}

// writeProxy lays out the module at root as version in a GOPROXY
// directory: the list, .info, .mod and .zip files of the proxy protocol.
func writeProxy(t *testing.T, proxy, root, version string) {
	t.Helper()
	dir := filepath.Join(proxy, filepath.FromSlash(consumertest.ModulePath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"list":            version + "\n",
		version + ".info": `{"Version":"` + version + `","Time":"2026-11-30T00:00:00Z"}`,
		version + ".mod":  string(gomod),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	prefix := consumertest.ModulePath + "@" + version + "/"
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		// A directory with its own go.mod is another module (the
		// manifests' validator): the go command leaves it out of this
		// module's zip, and refuses a zip that holds it.
		if d.IsDir() && p != root {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		if !d.Type().IsRegular() { // directories, and links, which module zips cannot hold
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create(prefix + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
