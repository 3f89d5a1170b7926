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
			s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			p := filepath.Join(dir, ".keycheck-2")
			if err := tc.plant(p); err != nil {
				t.Fatal(err)
			}
			s, err = fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 2), mustKey(t, 1)))
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
