//go:build unix

package lock_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/ownerhint"
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
		// wants, where set, replace the words of the hint on a file
		// another user made.
		wants []string
	}{
		{"strategy file", lock.StrategyFile, func(dir string) error { return tableTry(lock.Config{Dir: dir}) }, nil},
		{"flock lock file", "s1", func(dir string) error { return tableTry(lock.Config{Dir: dir, Strategy: lock.Flock}) }, nil},
		{"lease file", "s1.lease", func(dir string) error { return tableTry(lock.Config{Dir: dir, Strategy: lock.Lease}) }, nil},
		{"FileLock", "fleet.lock", func(dir string) error {
			l, err := lock.TryLockFile(filepath.Join(dir, "fleet.lock"))
			if err == nil {
				l.Unlock()
			}
			return err
		}, nil},
		{"lock directory", "", func(dir string) error { return tableTry(lock.Config{Dir: dir}) }, nil},
		// A lease the holder can no longer read back: Verify's and
		// Unlock's errors wrap the hinted open.
		{"lease Verify", "s1.lease", func(dir string) error {
			return leaseUnreadable(dir, func(h *lock.Handle) error { return h.Verify() })
		}, []string{"may not use", ", which it owns but whose mode 0000 refuses it"}},
		{"lease Unlock", "s1.lease", func(dir string) error {
			return leaseUnreadable(dir, func(h *lock.Handle) error { return h.Unlock() })
		}, []string{"may not use", ", which it owns but whose mode 0000 refuses it"}},
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
			// The error names the path once; the hint after it may name
			// it again, as the file to fix.
			var hint *ownerhint.Error
			if !errors.As(err, &hint) {
				t.Fatalf("%s: %v; want an ownerhint.Error", tc.name, err)
			}
			if n := strings.Count(strings.TrimSuffix(msg, hint.Hint), dir); n != 1 {
				t.Errorf("%s: %q names the path %d times before the hint, want once", tc.name, msg, n)
			}
			wants := []string{"may not use", name + ", which is root's", "another user made it", "chown -R USER " + dir}
			if tc.wants != nil {
				wants = tc.wants
			}
			for _, want := range wants {
				if !strings.Contains(msg, want) {
					t.Errorf("%s: %q does not say %q", tc.name, msg, want)
				}
			}
		})
	}
}

// leaseUnreadable takes a lease in dir, makes its file unreadable to its
// holder (mode 0000), and returns call's error on the handle.
func leaseUnreadable(dir string, call func(h *lock.Handle) error) error {
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
	if err != nil {
		return err
	}
	defer tab.Close()
	h, err := tab.TryLock("s1", "k", lock.Exclusive)
	if err != nil {
		return err
	}
	defer h.Unlock()
	p := filepath.Join(dir, "s1.lease")
	if err := os.Chmod(p, 0); err != nil {
		return err
	}
	defer os.Chmod(p, 0o600) // the lease is removed at the Unlock
	return call(h)
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
	for _, d := range []string{"lease-Verify", "lease-Unlock"} {
		must(os.Mkdir(filepath.Join(base, d), 0o777))
		must(os.Chmod(filepath.Join(base, d), 0o777))
	}
	return base
}
