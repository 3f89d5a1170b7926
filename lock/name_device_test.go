package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsDeviceNames: the names Windows opens a device for, with or
// without an extension, in any case, with trailing dots or spaces, and
// only those.
func TestWindowsDeviceNames(t *testing.T) {
	for _, tt := range []struct {
		name   string
		device bool
	}{
		{"NUL", true},
		{"nul", true},
		{"Con", true},
		{"PRN", true},
		{"aux", true},
		{"COM1", true},
		{"com9", true},
		{"LPT0", true},
		{"lpt1", true},
		{"COM¹", true},
		{"lpt³.lease", true},
		{"CONIN$", true},
		{"conout$", true},
		// ToUpper makes the dotless ı an I, which EqualFold does not fold
		// to: the check answered as it did before it stopped upper-casing.
		{"conın$", true},
		{"CONıN$.lease", true},
		{"NUL.x", true},
		{"nul.lease", true},
		{"NUL .x", true},
		{"NUL.", true},
		{"NUL...", true},
		{"NUL  ", true},
		{"Com1 . lease", true},
		{"NULL", false},
		{"COM10", false},
		{"COM", false},
		{"LPT", false},
		{"COM⁴", false},
		{"x.NUL", false},
		{"xNUL", false},
		{"stripe-7", false},
		{"CONSOLE", false},
		{"sweep", false},
	} {
		if got := windowsDevice(tt.name); got != tt.device {
			t.Errorf("windowsDevice(%q) = %v, want %v", tt.name, got, tt.device)
		}
	}
}

// TestDeviceNameRefusedEverywhere: every entry point of the package that
// creates or locks a file by name refuses a name Windows keeps for a
// device with ErrInvalidName, on every system, before creating anything:
// the table did so on Windows alone, and TryLockFile, LockFile and
// TryLockFileIn nowhere, so a lock directory on a share could hold a file
// (locks/NUL) that a Windows host of the same store opens as the null
// device, which keeps no lock.
func TestDeviceNameRefusedEverywhere(t *testing.T) {
	calls := []struct {
		name string
		lock func(dir, name string) (func() error, error)
	}{
		{"Table.TryLock", func(dir, name string) (func() error, error) {
			tab, err := NewTable(Config{Dir: dir, Strategy: Lease})
			if err != nil {
				return nil, err
			}
			defer tab.Close()
			h, err := tab.TryLock(name, "k", Exclusive)
			if err != nil {
				return nil, err
			}
			return h.Unlock, nil
		}},
		{"TryLockFile", func(dir, name string) (func() error, error) {
			l, err := TryLockFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}},
		{"LockFile", func(dir, name string) (func() error, error) {
			l, err := LockFile(context.Background(), filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}},
		{"TryLockFileIn", func(dir, name string) (func() error, error) {
			l, err := TryLockFileIn(dir, name, 0o600)
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}},
	}
	for _, c := range calls {
		for _, name := range []string{"NUL", "con", "Com1", "lpt9.lock", "aux.", "PRN  ", "CONOUT$"} {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				dir := t.TempDir()
				unlock, err := c.lock(dir, name)
				if err == nil {
					unlock()
				}
				if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "device") {
					t.Errorf("%s of %q: %v; want ErrInvalidName, saying Windows keeps the name for a device", c.name, name, err)
				}
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					if windowsDevice(e.Name()) {
						t.Errorf("%s of %q created %s", c.name, name, e.Name())
					}
				}
			})
		}
	}
}
