//go:build windows

package lock

import (
	"errors"
	"strings"
	"testing"
)

// TestNameIsNoDevice: Windows opens a device, not a file, for names it
// keeps for devices, also with an extension ("NUL.lease" is the null
// device), so such a lock name would give a lease no file to live in. It
// is refused, as are the characters Windows refuses in file names.
func TestNameIsNoDevice(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"NUL", false},
		{"nul", false},
		{"Con", false},
		{"PRN", false},
		{"aux", false},
		{"COM1", false},
		{"com9", false},
		{"LPT0", false},
		{"CONIN$", false},
		{"conout$", false},
		{"NUL.x", false},
		{"NUL .x", false},
		{"a<b", false},
		{"a>b", false},
		{`a"b`, false},
		{"a|b", false},
		{"a?b", false},
		{"a*b", false},
		{"NULL", true},
		{"COM10", true},
		{"LPT", true},
		{"x.NUL", true},
		{"stripe-7", true},
		{"CONSOLE", true},
	} {
		if got := validName(tt.name); got != tt.ok {
			t.Errorf("validName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// TestDeviceNameLockRefused: a lock on a device name fails at TryLock,
// before anything is created, with the error for a bad name, which says
// why: a name Windows keeps for a device.
func TestDeviceNameLockRefused(t *testing.T) {
	tab, err := NewTable(Config{Dir: t.TempDir(), Strategy: Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	for _, name := range []string{"NUL", "com1", "AUX"} {
		h, err := tab.TryLock(name, "k", Exclusive)
		if err == nil {
			h.Unlock()
		}
		if err == nil || !strings.HasPrefix(err.Error(), `lock: invalid lock file name "`+name+`"`) || !strings.Contains(err.Error(), "device") {
			t.Errorf("TryLock(%q) = %v; want the invalid name error, saying Windows keeps the name for a device", name, err)
		}
	}
}

// TestCaseFoldedNamesAreOneLock: Windows folds case in file names, so
// names that differ only in case name one lease file, and one lock: a
// holder of "Stripe" keeps "stripe" from being taken, here by the same
// table, never two holders of that file at once (see the package doc).
func TestCaseFoldedNamesAreOneLock(t *testing.T) {
	tab, err := NewTable(Config{Dir: t.TempDir(), Strategy: Lease})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	h, err := tab.TryLock("Stripe", "k", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := tab.TryLock("stripe", "k", Exclusive); !errors.Is(err, ErrLocked) {
		if err == nil {
			g.Unlock()
		}
		t.Errorf(`TryLock("stripe") while "Stripe" is held = %v; want ErrLocked`, err)
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}
	g, err := tab.TryLock("stripe", "k", Exclusive)
	if err != nil {
		t.Fatalf(`TryLock("stripe") once "Stripe" is let go: %v`, err)
	}
	if err := g.Unlock(); err != nil {
		t.Error(err)
	}
}
