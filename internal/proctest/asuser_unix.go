//go:build unix

package proctest

import (
	"os/exec"
	"syscall"
)

// AsUser runs the child with other credentials from binary, a copy of the
// test binary that user can execute.
func AsUser(uid, gid uint32, binary string) Option {
	return func(c *exec.Cmd) {
		c.Path, c.Args[0] = binary, binary
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	}
}
