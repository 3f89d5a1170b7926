//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestMissingOKNFSLeftover: a directory that holds nothing but an NFS
// client's .nfsXXXX file (one removed while still open, which the client
// removes itself) is as empty as fsstore takes it, which creates its store
// there: run --missing-ok skips it as it does an empty one, where it was
// refused (exit 3) as "not empty" on a fresh volume that the applications
// would go on to use.
func TestMissingOKNFSLeftover(t *testing.T) {
	dir := t.TempDir()
	leftover := filepath.Join(dir, ".nfs000000000123abcd00000001")
	if err := os.WriteFile(leftover, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runGC(t, []string{"run", "--dir", dir, "--missing-ok", "--json"})
	if _, s := summary(t, r); r.code != 0 || !s.Skipped || s.SkipReason != "no-store" {
		t.Errorf("--missing-ok on a directory with only %s: exit %d, %+v, stderr %q", filepath.Base(leftover), r.code, s, r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("sessgc wrote into the directory: %v", entries)
	}
	// fsstore takes it for an empty directory too: its store is created.
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatalf("fsstore.Open of the directory with only %s: %v", filepath.Base(leftover), err)
	}
	s.Close()
	r = runGC(t, []string{"run", "--dir", dir, "--missing-ok", "--json"})
	if _, s := summary(t, r); r.code != 0 || s.Skipped {
		t.Errorf("after fsstore created the store: exit %d, %+v, stderr %q", r.code, s, r.stderr)
	}
}

// TestInstallCronNFSLeftover: install-cron says of a directory that holds
// only an .nfsXXXX file what it says of an empty one (no store yet), not
// that it is a directory every run refuses.
func TestInstallCronNFSLeftover(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".nfs000000000123abcd00000001"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runGC(t, []string{"install-cron", "--dir", dir, "--binary", sessgcBin})
	if r.code != 0 || strings.Contains(r.stderr, "not empty") || !strings.Contains(r.stderr, "holds no sessfs store yet") {
		t.Errorf("exit %d, stderr %q: want 0 and the warning that the directory holds no store yet", r.code, r.stderr)
	}
}
