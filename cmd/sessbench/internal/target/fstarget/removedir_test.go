package fstarget

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRemoveDirLeavesSymlinkTarget: where os.RemoveAll failed (the
// parent may be written but not listed), and another process that may
// write the parent put a symlink in the place of the run's directory
// before the fallback listed it, the fallback followed the link and
// removed what the link pointed to, which the run did not make.
func TestRemoveDirLeavesSymlinkTarget(t *testing.T) {
	top := t.TempDir()
	victim := filepath.Join(top, "victim")
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(victim, "keep")
	if err := os.WriteFile(keep, []byte("not the run's"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, ".sessbench-1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(top, "moved")
	denied := errors.New("open " + top + ": permission denied")
	// os.RemoveAll refused, as in a parent of mode 0733; meanwhile the
	// run's directory is moved away and a symlink put in its place.
	swap := func(string) error {
		if err := os.Rename(dir, moved); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, dir); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
		return denied
	}
	if err := removeDir(dir, swap); err == nil {
		t.Error("RemoveDir of a directory replaced by a symlink: nil error, want one that says it was left")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("RemoveDir of a directory replaced by a symlink removed the link's target's files: %v", err)
	}
}

// TestRemoveDirFallback: where os.RemoveAll failed, the fallback removes
// the run's directory and everything in it, and a symlink in it, not what
// the link points to.
func TestRemoveDirFallback(t *testing.T) {
	top := t.TempDir()
	outside := filepath.Join(top, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(outside, "keep")
	if err := os.WriteFile(keep, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, ".sessbench-1")
	for _, d := range []string{dir, filepath.Join(dir, "data", "ab")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "ab", "s"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	refuse := func(string) error { return errors.New("permission denied") }
	if err := removeDir(dir, refuse); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there: %v", dir, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the fallback removed a symlink's target's file: %v", err)
	}
}

// TestPSQuoteSmartQuotes: PowerShell ends a single-quoted string at any of
// ' ‘ ’ ‚ ‛, and takes each doubled for itself; a directory named
// Bob’s bench was quoted 'Bob’s bench', which PowerShell ends at the ’.
func TestPSQuoteSmartQuotes(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Bob’s bench`: `'C:\Bob’’s bench'`,
		`C:\it's`:        `'C:\it''s'`,
		`C:\‘a‛b‚`:       `'C:\‘‘a‛‛b‚‚'`,
	} {
		if got := psQuote(in); got != want {
			t.Errorf("psQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
