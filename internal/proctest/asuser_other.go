//go:build !unix

package proctest

import (
	"errors"
	"os/exec"
)

// AsUser would run the child with other credentials; here there are no
// POSIX user IDs, so starting the child fails.
func AsUser(uid, gid uint32, binary string) Option {
	return func(c *exec.Cmd) {
		c.Err = errors.New("proctest: AsUser needs POSIX credentials")
	}
}
