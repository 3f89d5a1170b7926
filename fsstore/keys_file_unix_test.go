//go:build unix

package fsstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

// A keys path that is not a regular file (a FIFO nobody writes to, a
// directory, a socket, a device, a symlink to one of them) is refused with
// an error that says so. A FIFO used to hang Open, and the keys file
// watcher, and with it Close, forever in open(2).
func TestKeysFileNotRegular(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, p string)
	}{
		{"fifo", func(t *testing.T, p string) { must(t, unix.Mkfifo(p, 0o600)) }},
		{"symlink to a fifo", func(t *testing.T, p string) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			must(t, unix.Mkfifo(fifo, 0o600))
			must(t, os.Symlink(fifo, p))
		}},
		{"directory", func(t *testing.T, p string) { must(t, os.Mkdir(p, 0o700)) }},
		{"socket", func(t *testing.T, p string) {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			must(t, err)
			t.Cleanup(func() { unix.Close(fd) })
			must(t, unix.Bind(fd, &unix.SockaddrUnix{Name: p}))
		}},
		{"device", func(t *testing.T, p string) { must(t, os.Symlink(os.DevNull, p)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A short directory: a socket's path must fit in sun_path.
			dir, err := os.MkdirTemp("", "keys")
			must(t, err)
			t.Cleanup(func() { os.RemoveAll(dir) })
			p := filepath.Join(dir, "k")
			tc.make(t, p)
			unblock(t, p)
			err = within(t, func() error { _, err := fsstore.KeysFromFile(p); return err })
			if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), p) {
				t.Errorf("KeysFromFile: %v; want an error saying %s is not a regular file", err, p)
			}
			err = within(t, func() error {
				s, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p))
				if err == nil {
					s.Close()
				}
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("Open WithKeysFile: %v; want an error saying %s is not a regular file", err, p)
			}
		})
	}
}

// The keys file is replaced by a FIFO while the store runs: the watcher
// reports the reload as failed and keeps the keys in use, and Close
// returns.
func TestKeysFileReplacedByFIFO(t *testing.T) {
	k1 := mustKey(t, 1)
	p := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, p, keysFileText(k1))
	ev := make(reloadEvents, 16)
	s, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p), fsstore.WithObserver(ev))
	must(t, err)
	fifo := p + ".fifo"
	must(t, unix.Mkfifo(fifo, 0o600))
	must(t, os.Rename(fifo, p))
	unblock(t, p)
	deadline := time.After(30 * time.Second)
	for failed := false; !failed; {
		select {
		case e := <-ev:
			failed = e.Outcome != fsstore.OutcomeOK
		case <-deadline:
			t.Fatal("no failed keys reload within 30s of the keys file turning into a FIFO: the watcher hangs")
		}
	}
	if err := within(t, s.Close); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// within runs f and returns its error, failing the test if f has not
// returned after 30 seconds (it hangs).
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("hung for 30s")
		return nil
	}
}

// unblock opens the FIFO at p, if it is one, for writing at the end of the
// test, so that a reader a failed test left blocked in open(2) returns and
// the test binary can exit.
func unblock(t *testing.T, p string) {
	t.Cleanup(func() {
		if fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
	})
}
