//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestProbeFailureLeavesNoProbe: a flock probe that fails at any step
// after it created locks/.probe removes it, where it was left in a
// directory the process then locks with leases, or does not lock in at
// all. One that succeeds keeps it, and a .probe that is no regular file
// (not the probe's) is left as it was.
func TestProbeFailureLeavesNoProbe(t *testing.T) {
	eio := func(string) error { return syscall.EIO }
	for _, tt := range []struct {
		name     string
		strategy lock.Strategy
		refuse   func(name string) error // the flock
		fault    func(step string) error // the other steps
		fails    bool                    // NewTable fails
	}{
		{"fstat", lock.Flock, nil, func(step string) error {
			if step == "fstat" {
				return syscall.EIO
			}
			return nil
		}, true},
		{"flock refused", lock.Flock, eio, nil, true},
		{"flock unsupported", lock.Flock, func(string) error { return syscall.ENOLCK }, nil, true},
		// Auto then picks leases: NewTable works, and the directory
		// holds no flock probe.
		{"flock unsupported, auto", lock.Auto, func(string) error { return syscall.ENOLCK }, nil, false},
		{"unlock", lock.Flock, nil, func(step string) error {
			if step == "unlock" {
				return syscall.EIO
			}
			return nil
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := lock.Config{Dir: dir, Strategy: tt.strategy}
			var tab *lock.Table
			var err error
			if tt.refuse != nil {
				tab, err = lock.NewTableRefusingFlock(cfg, tt.refuse)
			} else {
				tab, err = lock.NewTableFailingProbe(cfg, tt.fault)
			}
			if tab != nil {
				tab.Close()
			}
			if (err != nil) != tt.fails {
				t.Fatalf("NewTable: %v, want failure: %v", err, tt.fails)
			}
			if _, serr := os.Lstat(filepath.Join(dir, ".probe")); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf(".probe after a failed probe (%v): lstat: %v, want it removed", err, serr)
			}
		})
	}
	t.Run("success keeps it", func(t *testing.T) {
		dir := t.TempDir()
		tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock})
		if err != nil {
			t.Fatal(err)
		}
		tab.Close()
		if _, err := os.Lstat(filepath.Join(dir, ".probe")); err != nil {
			t.Errorf("after a probe that worked: %v, want .probe kept", err)
		}
	})
	t.Run("not a regular file", func(t *testing.T) {
		dir := t.TempDir()
		// A FIFO opens (O_RDWR does not wait for a writer), and is
		// refused once open.
		if err := syscall.Mkfifo(filepath.Join(dir, ".probe"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Flock}); !errors.Is(err, lock.ErrNotLockFile) {
			t.Fatalf("NewTable with a FIFO at .probe: %v, want ErrNotLockFile", err)
		}
		if st, err := os.Lstat(filepath.Join(dir, ".probe")); err != nil || st.Mode().Type() != os.ModeNamedPipe {
			t.Errorf("the FIFO at .probe: %v, %v; want it left as it was", st, err)
		}
	})
}

// TestProbeReopensRemovedProbe: a flock probe whose .probe another host's
// failed probe removed under it (on NFS the probe's descriptor is then
// stale: ESTALE at the flock or the fstat) opens the name again and
// probes that, where NewTable failed with "stale file handle" on a host
// whose flock works, started beside one whose flock did not.
func TestProbeReopensRemovedProbe(t *testing.T) {
	for _, tt := range []struct {
		name   string
		refuse bool // ESTALE at the flock, else at the fstat
	}{
		{"flock", true},
		{"fstat", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := lock.Config{Dir: dir, Strategy: lock.Auto}
			stale := 0
			once := func() error {
				stale++
				if stale == 1 {
					return syscall.ESTALE
				}
				return nil
			}
			var tab *lock.Table
			var err error
			if tt.refuse {
				tab, err = lock.NewTableRefusingFlock(cfg, func(string) error { return once() })
			} else {
				tab, err = lock.NewTableFailingProbe(cfg, func(step string) error {
					if step == "fstat" {
						return once()
					}
					return nil
				})
			}
			if err != nil {
				t.Fatalf("NewTable after a stale .probe: %v, want the probe tried again", err)
			}
			defer tab.Close()
			if got := tab.Strategy(); got != lock.Flock {
				t.Errorf("Strategy %v, want Flock", got)
			}
			if _, err := os.Lstat(filepath.Join(dir, ".probe")); err != nil {
				t.Errorf(".probe after the probe worked: %v, want it kept", err)
			}
		})
	}
}
