//go:build unix

package statmode

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestTypeAsOs: each kind of file gets the type os.Lstat gives it.
func TestTypeAsOs(t *testing.T) {
	// Short, for a socket's name (104 bytes at most on darwin).
	dir, err := os.MkdirTemp("", "statmode")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, tc := range []struct {
		name string
		make func(p string) error
	}{
		{"regular", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"symlink", func(p string) error { return os.Symlink("nowhere", p) }},
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }},
		{"socket", func(p string) error {
			l, err := net.Listen("unix", p)
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := tc.make(p); err != nil {
				t.Fatal(err)
			}
			same(t, p)
		})
	}
	t.Run("character device", func(t *testing.T) {
		if _, err := os.Lstat(os.DevNull); err != nil {
			t.Skipf("no %s: %v", os.DevNull, err)
		}
		same(t, os.DevNull)
	})
	t.Run("block device", func(t *testing.T) {
		// Made in dir (root may, whatever the device number), else one
		// of the machine's.
		p := filepath.Join(dir, "block")
		if err := unix.Mknod(p, unix.S_IFBLK|0o600, 0); err != nil {
			if p = blockDevice(); p == "" {
				testenv.Skip(t, testenv.Root, "cannot make a block device (%v), and none in /dev", err)
			}
		}
		same(t, p)
	})
	t.Run("unknown", func(t *testing.T) {
		if got := Type(0); got != fs.ModeIrregular {
			t.Errorf("Type(0) = %v, want %v", got, fs.ModeIrregular)
		}
	})
}

func same(t *testing.T, p string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Type(uint32(st.Mode)), fi.Mode().Type(); got != want {
		t.Errorf("%s: Type = %v, want %v as os.Lstat", p, got, want)
	}
}

// blockDevice returns the path of a block device in /dev, or "".
func blockDevice() string {
	ents, _ := os.ReadDir("/dev")
	for _, e := range ents {
		if e.Type()&fs.ModeDevice != 0 && e.Type()&fs.ModeCharDevice == 0 {
			return filepath.Join("/dev", e.Name())
		}
	}
	return ""
}
