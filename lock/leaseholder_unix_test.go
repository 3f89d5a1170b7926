//go:build unix

package lock_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestLeaseDirHolderOfFilesNotRecords: Holder reads a lease file that any
// host of the fleet may have written, for a tool that prints what it says
// to an operator's terminal and into its JSON. What is no owner record (a
// garbage or huge file, a FIFO, a symlink, a directory) is refused with
// ErrNotLockFile, without waiting on the FIFO or following the link; a
// missing one is fs.ErrNotExist. The host name of a record is printed as
// the lock package writes one, printable ASCII: a record written by hand,
// or by a host whose name has control characters, had its bytes passed on
// as they were, and an ESC or BEL reached the operator's terminal (forged
// output, a title set, a line erased).
func TestLeaseDirHolderOfFilesNotRecords(t *testing.T) {
	locks := t.TempDir()
	l := lock.NewLeaseDir(locks)
	defer l.Close()
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	rec := lock.LeaseRecordExpiring(deadToken, expires)
	write := func(t *testing.T, name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(locks, name+".lease"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	write(t, "ok", rec)
	h, err := l.Holder("ok")
	if err != nil || h.Host != "gone" || h.PID != 1 || !h.Expires.Equal(expires) {
		t.Fatalf("Holder of a record = %+v, %v; want host gone, pid 1, expires %v", h, err, expires)
	}

	if _, err := l.Holder("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Holder of no lease: %v; want fs.ErrNotExist", err)
	}
	write(t, "garbage", bytes.Repeat([]byte{0xff, '\n', 0}, 53))
	write(t, "short", rec[:40])
	write(t, "huge", append(append([]byte(nil), rec...), bytes.Repeat([]byte("x"), 1<<20)...))
	if err := syscall.Mkfifo(filepath.Join(locks, "fifo.lease"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Held open for writing: a blocking read of it would wait for ever.
	w, err := os.OpenFile(filepath.Join(locks, "fifo.lease"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.Symlink(filepath.Join(locks, "ok.lease"), filepath.Join(locks, "link.lease")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(locks, "dir.lease"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"garbage", "short", "huge", "fifo", "link", "dir"} {
		if h, err := l.Holder(name); !errors.Is(err, lock.ErrNotLockFile) {
			t.Errorf("Holder of %s.lease = %+v, %v; want ErrNotLockFile", name, h, err)
		}
	}

	for _, host := range []string{"\x1b[2K\rok", "a\x07b", "x\x1b]0;title\x07", "\xff\xfehost", "del\x7f", "h\u00e9"} {
		forged := bytes.Replace(rec, []byte("host=gone"), []byte("host="+host), 1)
		forged = append(forged[:0:0], forged[:len(forged)-1-len(host)+len("gone")]...)
		forged = append(forged, '\n')
		if len(forged) != len(rec) {
			t.Fatalf("forged record of %d bytes, want %d", len(forged), len(rec))
		}
		write(t, "forged", forged)
		h, err := l.Holder("forged")
		if err != nil {
			// Refused as no record is fine too: nothing forged is printed.
			if !errors.Is(err, lock.ErrNotLockFile) {
				t.Errorf("Holder of a record with host %q: %v", host, err)
			}
			continue
		}
		if i := strings.IndexFunc(h.Host, func(c rune) bool { return c <= ' ' || c >= 0x7f }); i >= 0 {
			t.Errorf("Holder of a record with host %q: Host %q, with %q at %d; want printable ASCII only", host, h.Host, h.Host[i:i+1], i)
		}
	}
}
