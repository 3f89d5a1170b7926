package root

import (
	"os/exec"
	"runtime"
	"syscall"
)

// stopWithParent has the kernel send the worker SIGTERM when this process
// dies, so that killing sessgc's own process with SIGKILL (an operator's
// kill -9 of the pid, a supervisor that kills only the process it started)
// stops the sweep too, cleanly, rather than leave it running unseen under
// a fleet lock. (A signal to the whole process group, as timeout(1) and
// systemd send, reaches the worker directly.)
//
// The signal fires when the thread that started the child exits, not the
// process, so the starting goroutine keeps its thread for the rest of the
// process's life: supervise runs on the main goroutine until exit.
func stopWithParent(cmd *exec.Cmd) {
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
