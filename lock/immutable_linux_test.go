//go:build linux

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestImmutableHint: an immutable lock file (chattr +i), or an immutable
// lock directory that refuses a new one, refuses even root with EPERM;
// the error says so and names the attribute, where it gave EACCES's
// advice (root_squash, chown), which changes nothing.
func TestImmutableHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		// immutable is made immutable; try takes the lock.
		immutable func(dir string) string
		try       func(dir string) error
	}{
		{"FileLock of an immutable file", func(dir string) string {
			p := filepath.Join(dir, "fleet.lock")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, func(dir string) error {
			l, err := lock.TryLockFile(filepath.Join(dir, "fleet.lock"))
			if err == nil {
				l.Unlock()
			}
			return err
		}},
		{"NewTable in an immutable directory", func(dir string) string { return dir }, func(dir string) error {
			tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock})
			if err == nil {
				tab.Close()
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.immutable(dir)
			testenv.SetImmutable(t, p)
			err := tc.try(dir)
			if !errors.Is(err, syscall.EPERM) {
				t.Fatalf("%v, want EPERM", err)
			}
			msg := err.Error()
			t.Log(msg)
			for _, want := range []string{"refused whatever the owner and mode", "immutable", "chattr -i -a " + p} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not say %q", msg, want)
				}
			}
			for _, not := range []string{"chown -R", "chmod -R", "root_squash", "CAP_DAC_OVERRIDE"} {
				if strings.Contains(msg, not) {
					t.Errorf("%q says %q, which does not help", msg, not)
				}
			}
		})
	}
}

// TestImmutableRemoveHint: a lease's Unlock whose removal of its file the
// lock directory refuses (made immutable while the lease was held: EPERM,
// as a sticky directory refuses another user's file) says what refuses
// it and how to clear it, as a refused open does, and names the lease
// file once before the hint. It failed with a bare "remove P: operation
// not permitted".
func TestImmutableRemoveHint(t *testing.T) {
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	h, err := tab.TryLock("s1", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	testenv.SetImmutable(t, dir)
	err = h.Unlock()
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("Unlock of a lease in an immutable directory: %v, want EPERM", err)
	}
	msg := err.Error()
	t.Log(msg)
	lease := filepath.Join(dir, "s1.lease")
	for _, want := range []string{"refused whatever the owner and mode", "immutable", "chattr -i -a " + lease + " " + dir} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if before, _, _ := strings.Cut(msg, ": refused"); strings.Count(before, lease) != 1 {
		t.Errorf("%q names %s %d times before its hint, want once", msg, lease, strings.Count(before, lease))
	}
}
