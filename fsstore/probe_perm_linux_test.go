package fsstore_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestBreakerProbeUnreadableMarker: a marker this process may not read
// (an operator's chmod or chown, or a marker rewritten by another user) is
// the server's answer to the open breaker's probe, as a FIFO or a symlink
// there is; an operation that reads the marker reports the refusal
// itself. The probe took the refusal for no answer, and the breaker, once
// open after an outage, stayed open for good while the server answered:
// every request and Health failed with ErrUnavailable until a restart. As
// root, the probe runs in a child as user nobody, whose store the child
// opens and then makes its marker unreadable to itself.
func TestBreakerProbeUnreadableMarker(t *testing.T) {
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		s := openDir(t, dir)
		p := filepath.Join(dir, fsstore.MarkerFile)
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, 0o600) })
		if _, err := os.ReadFile(p); err == nil {
			t.Skip("this process reads a file with mode 0 (a capability?)")
		}
		if err := s.ProbeBreakerForTest(); err != nil {
			t.Errorf("probe with an unreadable marker: %v, want answered (nil)", err)
		}
		return
	}
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	openDir(t, dir).Close()
	const nobody = 65534
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	kid := startChild(t, "probe-unreadable-marker", []string{"STORE_DIR=" + dir},
		asUser(nobody, nobody, binary), func(c *exec.Cmd) { c.Dir = base })
	if got := kid.Expect(t, "probe "); !strings.HasPrefix(got, "probe ok") {
		t.Errorf("as uid %d, probe with an unreadable marker: %q, want answered (ok)", nobody, got)
	}
	kid.Finish(t)
}
