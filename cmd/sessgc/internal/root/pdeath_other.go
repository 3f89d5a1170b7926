//go:build unix && !linux

package root

import "os/exec"

// stopWithParent does nothing here: only Linux can signal a child when its
// parent dies. A worker whose parent was killed with SIGKILL finishes its
// pass (bounded by --max-duration) on its own.
func stopWithParent(*exec.Cmd) {}
