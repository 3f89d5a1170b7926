//go:build windows

package lock

import "testing"

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
// before anything is created, with the error for a bad name.
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
		if err == nil || err.Error() != `lock: invalid lock file name "`+name+`"` {
			t.Errorf("TryLock(%q) = %v; want the invalid name error", name, err)
		}
	}
}
