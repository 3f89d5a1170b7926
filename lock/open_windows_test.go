//go:build windows

package lock

import (
	"os"
	"testing"
)

// TestLeaseOpenElsewhereIsRemovable: the lease file may be open in another
// process or goroutine of the package at any moment (a waiter reading it,
// the holder renewing it). Opened without FILE_SHARE_DELETE, it could not
// be removed meanwhile (a sharing violation): the holder's Unlock failed
// and left the lease to expire, and a breaker could not rename over it.
func TestLeaseOpenElsewhereIsRemovable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags int
	}{
		{"read by a waiter", os.O_RDONLY},
		{"renewed by its holder", os.O_RDWR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tab, err := NewTable(Config{Dir: dir, Strategy: Lease})
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			h, err := tab.TryLock("k", "k", Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			d, err := openLockDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			f, err := d.open("k"+leaseSuffix, tc.flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := h.Unlock(); err != nil {
				t.Fatalf("Unlock with the lease file open elsewhere: %v", err)
			}

			h, err = tab.TryLock("k2", "k2", Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unlock()
			g, err := d.open("k2"+leaseSuffix, tc.flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			repl := "k2" + leaseSuffix + takeInfix + "test"
			if err := os.WriteFile(d.join(repl), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := d.rename(repl, "k2"+leaseSuffix); err != nil {
				t.Fatalf("a breaker's rename over the lease file open elsewhere: %v", err)
			}
		})
	}
}
