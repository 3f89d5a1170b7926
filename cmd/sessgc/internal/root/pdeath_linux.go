package root

import (
	"os/exec"
	"runtime"
	"syscall"
)

// stopWithParent has the kernel send the worker SIGTERM when this process
// dies, so that killing sessgc with SIGKILL (a "timeout -s KILL" around the
// cron line, an operator's kill -9) stops the sweep too, cleanly, rather
// than leave it running unseen under a fleet lock.
//
// The signal fires when the thread that started the child exits, not the
// process, so the starting goroutine keeps its thread for the rest of the
// process's life: supervise runs on the main goroutine until exit.
func stopWithParent(cmd *exec.Cmd) {
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
