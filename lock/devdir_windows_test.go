package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestLockDirIsNoDevice: a lock directory whose name Windows keeps for a
// device (NUL, CON, COM1, ... alone or before a dot) opens the device,
// not a directory, and a file there is no directory either. Each entry
// point that opens a lock directory refuses it, with an error that says
// why: ErrInvalidName and the device for the name, "not a directory" for
// the file. A LeaseDir took the null device for a directory (its Lstat
// succeeds), and BreakExpired then reported every lease gone and
// LeftoverInUse every claim unused, where nothing had been looked at;
// CON failed with "Invalid handle", LPT1 with "File not found".
// A name ended with a colon ("NUL:", "nul:x") or followed by "\\."
// failed with "not a directory" or "File not found", not saying why.
func TestLockDirIsNoDevice(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	entries := []struct {
		name string
		open func(dir string) error
	}{
		{"NewTable", func(dir string) error {
			tab, err := lock.NewTable(lock.Config{Dir: dir})
			if err == nil {
				tab.Close()
			}
			return err
		}},
		{"LeaseDir.BreakExpired", func(dir string) error {
			d := lock.NewLeaseDir(dir)
			defer d.Close()
			_, err := d.BreakExpired("x", 0, 0)
			return err
		}},
		{"LeaseDir.LeftoverInUse", func(dir string) error {
			d := lock.NewLeaseDir(dir)
			defer d.Close()
			_, err := d.LeftoverInUse("x.lease.claim-abc-0")
			return err
		}},
		{"LeaseDir.Holder", func(dir string) error {
			d := lock.NewLeaseDir(dir)
			defer d.Close()
			_, err := d.Holder("x")
			return err
		}},
		{"TryLockFileIn", func(dir string) error {
			l, err := lock.TryLockFileIn(dir, "x", 0o600)
			if err == nil {
				l.Unlock()
			}
			return err
		}},
	}
	for _, tc := range []struct {
		dir  string
		is   error
		says string
	}{
		{filepath.Join(base, "NUL"), lock.ErrInvalidName, "device"},
		{filepath.Join(base, "con"), lock.ErrInvalidName, "device"},
		{filepath.Join(base, "COM1"), lock.ErrInvalidName, "device"},
		{filepath.Join(base, "LPT1"), lock.ErrInvalidName, "device"},
		{filepath.Join(base, "NUL.locks"), lock.ErrInvalidName, "device"},
		{filepath.Join(base, "NUL:"), lock.ErrInvalidName, "device"},
		{filepath.Join(base, "nul:x"), lock.ErrInvalidName, "device"},
		{base + `\NUL\.`, lock.ErrInvalidName, "device"},
		{base + `\CON\`, lock.ErrInvalidName, "device"},
		{file, nil, "not a directory"},
	} {
		for _, e := range entries {
			err := e.open(tc.dir)
			switch {
			case err == nil:
				t.Errorf("%s in %s: no error", e.name, tc.dir)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("%s in %s: %v, want %v", e.name, tc.dir, err, tc.is)
			case !strings.Contains(err.Error(), tc.dir) || !strings.Contains(err.Error(), tc.says):
				t.Errorf("%s in %s: %q, want it to name the path and say %q", e.name, tc.dir, err, tc.says)
			}
		}
	}
}
