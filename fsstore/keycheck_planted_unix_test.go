//go:build unix

package fsstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestPlantedKeyCheckNamed: what no host writes at a key's check file's
// name (a FIFO, a directory, a symbolic link, a file too large for one) fails
// Open as a damaged check file, naming it and saying to remove it, where
// the error named neither the file nor what to do, and one too large spoke
// of a record.
func TestPlantedKeyCheckNamed(t *testing.T) {
	plants := []struct {
		name  string
		plant func(p string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"symlink", func(p string) error { return os.Symlink("/dev/null", p) }},
		{"too large", func(p string) error { return os.WriteFile(p, make([]byte, 1<<20), 0o600) }},
	}
	for _, tc := range plants {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k1 := mustKey(t, 1) // one secret under ID 1 on both Opens
			s, err := fsstore.Open(dir, fsstore.WithKeys(k1))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			p := filepath.Join(dir, ".keycheck-2")
			if err := tc.plant(p); err != nil {
				t.Fatal(err)
			}
			s, err = fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 2), k1))
			if err == nil {
				s.Close()
				t.Fatalf("Open with a %s at %s succeeded", tc.name, p)
			}
			msg := err.Error()
			if !strings.Contains(msg, p) || !strings.Contains(msg, "remove it") || strings.Contains(msg, "record") {
				t.Errorf("Open with a %s at the key's check file: %v; want an error naming %s that says to remove it", tc.name, err, p)
			}
		})
	}
}

// TestKeyChecksInIDOrder: a key set with two faults, a secret under ID 1
// other than the one the store was written with and a FIFO planted at
// key 2's check file, fails Open with the same error every time: key 1's,
// the lower ID. The checks went in the order of a map, so the error
// changed from one Open to the next (and TestPlantedKeyCheckNamed, which
// gave ID 1 a new secret on its second Open, failed as often).
func TestKeyChecksInIDOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := syscall.Mkfifo(filepath.Join(dir, ".keycheck-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := fsstore.WithKeys(mustKey(t, 2), mustKey(t, 1)) // key 1 under a new secret
	for i := range 20 {
		s, err := fsstore.Open(dir, keys)
		if err == nil {
			s.Close()
			t.Fatal("Open with a wrong key 1 and a FIFO at key 2's check file succeeded")
		}
		if msg := err.Error(); !strings.Contains(msg, "key 1 is not the key") || strings.Contains(msg, ".keycheck-2") {
			t.Fatalf("Open %d: %v; want key 1's check to fail first, every time", i, err)
		}
	}
}
