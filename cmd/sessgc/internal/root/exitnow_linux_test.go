package root

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// heldWait is a real worker whose Wait the test holds: it reaps the
// worker only once release is closed, and closes reaped then.
type heldWait struct {
	childProcess
	waiting, release, reaped chan struct{}
}

func (c heldWait) Wait() error {
	close(c.waiting)
	<-c.release
	defer close(c.reaped)
	return c.childProcess.Wait()
}

// TestSecondSignalWorkerDiedUnreported: a worker that died of SIGKILL
// (the out-of-memory killer) without reporting, whose Wait has not
// returned when a second Ctrl-C comes, is said to have died of SIGKILL,
// exit 137, as it is once Wait returns. The supervisor said it killed a
// worker that had not stopped cleanly, exit 130. The order is forced: the
// worker is dead, a zombie no Wait has reaped, and its Wait is held until
// the supervisor has returned.
func TestSecondSignalWorkerDiedUnreported(t *testing.T) {
	cmd := exec.Command("sh", "-c", "kill -s KILL $$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Until it is a zombie, without reaping it.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			t.Fatal(err)
		}
	}
	c := heldWait{childProcess{cmd}, make(chan struct{}), make(chan struct{}), make(chan struct{})}
	defer func() {
		close(c.release)
		<-c.reaped
	}()
	reported := newFakeReport()
	reported.set("") // its report pipe closed empty
	sig := make(chan os.Signal, 2)
	done := make(chan int, 1)
	said := stderrOf(t, func() {
		go func() { done <- superviseWait(sig, reported, c) }()
		<-c.waiting
		sig <- os.Interrupt
		sig <- syscall.SIGINT
		if code := <-done; code != 137 {
			t.Errorf("second Ctrl-C, the worker dead of SIGKILL, its Wait not returned: exit %d; want 137", code)
		}
	})
	if want := "sessgc: the worker process died of SIGKILL"; !strings.Contains(said, want) || strings.Contains(said, "a second SIGINT") {
		t.Errorf("stderr %q, want %q and no word of the second signal", said, want)
	}
}

// TestExitingStatus reads /proc/PID/stat lines of a process in its exit
// (PF_EXITING, 0x4, in the flags), and of others.
func TestExitingStatus(t *testing.T) {
	line := func(comm, state string, flags, exitCode int) []byte {
		f := make([]string, 50) // fields 3 to 52
		for i := range f {
			f[i] = "0"
		}
		f[0], f[9-3], f[52-3] = state, itoa(flags), itoa(exitCode)
		return []byte("4242 (" + comm + ") " + strings.Join(f, " ") + "\n")
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		ws    syscall.WaitStatus
		known bool
	}{
		{"killed, exit stuck", line("sessgc", "D", 0x40400144, 9), 9, true},
		{"zombie of exit 2", line("sessgc", "Z", 0x40400144, 2<<8), 2 << 8, true},
		{"a name with ') ' in it", line("a) Z 1 (b", "D", 0x4, 9), 9, true},
		{"running", line("sessgc", "S", 0x40400140, 0), 0, false},
		{"exiting, status not yet set", line("sessgc", "R", 0x40400144, 0), 0, false},
		{"before Linux 3.5", []byte("4242 (sessgc) D 1 2 3 4 5 0x4\n"), 0, false},
		{"no parenthesis", []byte("garbage"), 0, false},
	} {
		ws, known := exitingStatus(tc.b)
		if ws != tc.ws || known != tc.known {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, ws, known, tc.ws, tc.known)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
