package root

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// exitNow tells, without waiting or reaping, how the child pid ended:
// known once its exit status is decided, reaped once a Wait has reaped it
// (the Wait then returns at once). The status is decided as the exit
// begins, well before the child is waitable: one whose exit is stuck in
// the kernel's close of its files on an NFS mount whose server is away
// has it, and /proc says it (see exitingStatus), as it does for a zombie.
func exitNow(pid int) (ws syscall.WaitStatus, known, reaped bool) {
	if reaped = isReaped(pid); reaped {
		return 0, false, true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	// Read before a Wait reaped the child, or the pid could have been
	// another process's by then: the child still unreaped after the
	// read, the pid was its own throughout. A read that failed as the
	// child was reaped (no such file) is that reap too.
	if isReaped(pid) {
		return 0, false, true
	}
	if err != nil {
		return 0, false, false
	}
	ws, known = exitingStatus(b)
	return ws, known, false
}

// isReaped reports whether the child pid has been reaped: waitid, which
// neither waits nor reaps here, no longer knows it.
func isReaped(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == unix.ECHILD
		}
	}
}

// pfExiting is the kernel's PF_EXITING in /proc/PID/stat's flags: the
// process is in its exit.
const pfExiting = 0x4

// exitingStatus reads /proc/PID/stat, b, for the wait status of a process
// in its exit or a zombie: its flags (field 9) have PF_EXITING and its
// exit_code (field 52, Linux 3.5 and later) is set, as the kernel sets
// both before it closes the process's files. A status of 0 is not told
// from one not yet set, and is not known: a worker ends unreported by a
// signal or a crash, neither of which exits 0.
func exitingStatus(b []byte) (syscall.WaitStatus, bool) {
	i := bytes.LastIndexByte(b, ')') // the command name may hold anything
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:]) // from field 3, the state
	if len(f) < 52-2 {
		return 0, false
	}
	flags, err1 := strconv.ParseUint(string(f[9-3]), 10, 64)
	code, err2 := strconv.ParseUint(string(f[52-3]), 10, 32)
	if err1 != nil || err2 != nil || flags&pfExiting == 0 || code == 0 {
		return 0, false
	}
	return syscall.WaitStatus(code), true
}
