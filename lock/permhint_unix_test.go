//go:build unix

package lock_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// permDirEnv names, in the child of TestPermissionDeniedHint, the
// directory root prepared.
const permDirEnv = "SESSFS_LOCK_PERM_DIR"

// TestPermissionDeniedHint: a lock directory's file that another user made
// (root's, mode 0600: an app server or sessgc run once as root), or a lock
// directory this user may not write, refuses the app's user with an error
// that names the file, says whose it is and what to do, and still matches
// fs.ErrPermission. It was a bare "permission denied". Root reads and
// writes whatever the modes say, so root prepares the files and the test
// runs again as uid 65534.
func TestPermissionDeniedHint(t *testing.T) {
	base := os.Getenv(permDirEnv)
	if base == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root, to make files of another user than the one the test runs as (CI runs as root)")
		}
		base = preparePermDirs(t)
		t.Setenv(permDirEnv, base)
		out := proctest.RerunUnprivileged(t, "TestPermissionDeniedHint")
		if strings.Contains(string(out), "--- SKIP") {
			t.Fatalf("the unprivileged run skipped:\n%s", out)
		}
		t.Logf("as uid 65534:\n%s", out)
		return
	}
	if os.Geteuid() == 0 {
		t.Fatalf("%s set, yet running as root", permDirEnv)
	}
	for _, tc := range []struct {
		name string
		// file is the one the error must name.
		file string
		take func(dir string) error
	}{
		{"strategy file", lock.StrategyFile, func(dir string) error { return tableTry(lock.Config{Dir: dir}) }},
		{"flock lock file", "s1", func(dir string) error { return tableTry(lock.Config{Dir: dir, Strategy: lock.Flock}) }},
		{"lease file", "s1.lease", func(dir string) error { return tableTry(lock.Config{Dir: dir, Strategy: lock.Lease}) }},
		{"FileLock", "fleet.lock", func(dir string) error {
			l, err := lock.TryLockFile(filepath.Join(dir, "fleet.lock"))
			if err == nil {
				l.Unlock()
			}
			return err
		}},
		{"lock directory", "", func(dir string) error { return tableTry(lock.Config{Dir: dir}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			err := tc.take(dir)
			if err == nil {
				t.Fatalf("%s refused by its mode: no error", tc.name)
			}
			msg := err.Error()
			t.Log(msg)
			if !errors.Is(err, fs.ErrPermission) {
				t.Errorf("%s: %v; want it to match fs.ErrPermission", tc.name, err)
			}
			name := dir
			if tc.file != "" {
				name = filepath.Join(dir, tc.file)
			}
			for _, want := range []string{"may not use", name + ", which is root's", "another user made it", "chown -R USER " + dir} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s: %q does not say %q", tc.name, msg, want)
				}
			}
		})
	}
}

func tableTry(cfg lock.Config) error {
	tab, err := lock.NewTable(cfg)
	if err != nil {
		return err
	}
	defer tab.Close()
	h, err := tab.TryLock("s1", "k", lock.Exclusive)
	if err == nil {
		h.Unlock()
	}
	return err
}

// preparePermDirs makes, as root, a lock directory for each case of
// TestPermissionDeniedHint, open to everyone but the one file root made
// mode 0600 (or, for the lock directory, the directory itself, 0755).
func preparePermDirs(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "sessfs-lockperm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(base, 0o755))
	for _, c := range []struct {
		dir      string
		strategy string // recorded, mode 0644; "" for none
		file     string // root's, mode 0600
	}{
		{"strategy-file", "", lock.StrategyFile},
		{"flock-lock-file", "flock", "s1"},
		{"lease-file", "lease", "s1.lease"},
		{"FileLock", "", "fleet.lock"},
	} {
		d := filepath.Join(base, c.dir)
		must(os.Mkdir(d, 0o777))
		must(os.Chmod(d, 0o777))
		if c.strategy != "" {
			must(os.WriteFile(filepath.Join(d, lock.StrategyFile), []byte(c.strategy+"\n"), 0o644))
		}
		must(os.WriteFile(filepath.Join(d, c.file), []byte("flock\n"), 0o600))
	}
	must(os.Mkdir(filepath.Join(base, "lock-directory"), 0o755))
	return base
}
