//go:build unix

package proctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// AsUser runs the child with other credentials from binary, a copy of the
// test binary that user can execute.
func AsUser(uid, gid uint32, binary string) Option {
	return func(c *exec.Cmd) {
		c.Path, c.Args[0] = binary, binary
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	}
}

// RerunUnprivileged runs test name of the current test binary again in a
// child process as uid and gid 65534 (nobody), for a test of what the store
// does where file modes refuse it: root reads and writes whatever the modes
// say, and CI runs as root. The binary and the child's temporary
// directories go in a directory that user may enter, since the go
// command's own is root's, mode 0700. A child that fails fails t, with its
// output; the output is returned for the caller to judge (a skip in it,
// say).
func RerunUnprivileged(t *testing.T, name string) []byte {
	t.Helper()
	dir, err := os.MkdirTemp("", "sessfs-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TMPDIR="+dir, ChildGORACE())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as uid 65534: %v\n%s", name, err, out)
	}
	return out
}
