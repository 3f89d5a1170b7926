package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// TestKilledParentStopsWorker kills sessgc with SIGKILL in the middle of a
// slow sweep, as an operator's kill -9 of its pid, or a supervisor that
// kills only the process it started, does. sessgc does its work in a child process (see supervise):
// that worker must stop too, cleanly, rather than sweep on unseen.
func TestKilledParentStopsWorker(t *testing.T) {
	st := newStore(t)
	st.expire(st.save(60)...)
	cmd := command([]string{"run", "--dir", st.dir, "--json", "-v", "--rate", "2"})
	out := lines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitLine(t, out, `"event":"remove"`)
	worker := workerPID(t, cmd.Process.Pid)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The worker holds the other end of the output pipe: the output ends
	// when it exits. Waiting for the parent first would close the pipe
	// under the worker.
	last, ended := lastLine(out, 2*time.Minute) // a hang detector only
	if !ended {
		syscall.Kill(worker, syscall.SIGKILL)
		t.Fatal("the worker's output did not end")
	}
	cmd.Wait()
	var s jsonSummary
	if err := json.Unmarshal([]byte(last), &s); err != nil || s.StopReason != "interrupted" || s.ExitCode != 143 {
		t.Errorf("the worker ended with %q (%v); want a summary of a pass stopped by SIGTERM", last, err)
	}
	if s.Sessions >= 60 {
		t.Errorf("the worker removed all %d sessions after sessgc was killed", s.Sessions)
	}
}

// workerPID returns the pid of the worker process of the sessgc whose pid
// is parent.
func workerPID(t *testing.T, parent int) int {
	t.Helper()
	// Each thread lists the children it started.
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(parent) + "/task/*/children")
	var children []string
	if len(tasks) == 0 {
		procGone(t, parent, "sessgc")
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			procGone(t, parent, "sessgc")
		}
		children = append(children, strings.Fields(string(b))...)
	}
	if len(children) != 1 {
		t.Fatalf("sessgc's children: %q, want one worker", children)
	}
	worker, err := strconv.Atoi(children[0])
	if err != nil {
		t.Fatal(err)
	}
	return worker
}

// TestCrashedWorker makes sessgc's worker die of a Go runtime crash in the
// middle of a sweep: SIGQUIT, which sessgc does not catch, makes the
// runtime dump its goroutines and exit 2, as a panic or a fatal error
// does. That 2 is also the code of a usage error, which says "fix the
// cron line": sessgc must exit with its own code for a crash, and say on
// stderr that the worker crashed.
func TestCrashedWorker(t *testing.T) {
	st := newStore(t)
	st.expire(st.save(60)...)
	cmd, out, stderr, worker := runWorker(t, st)
	if err := syscall.Kill(worker, syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if _, ended := lastLine(out, 2*time.Minute); !ended { // a hang detector only
		syscall.Kill(worker, syscall.SIGKILL)
		t.Fatal("the worker's output did not end")
	}
	code := exitCode(t, cmd.Wait())
	if code != cmdutil.ExitCrashed {
		t.Errorf("sessgc exited %d after its worker crashed, want %d\nstderr: %s", code, cmdutil.ExitCrashed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "SIGQUIT") {
		t.Errorf("stderr has no goroutine dump of the crash:\n%s", stderr.String())
	}
	lastErr := stderr.String()[strings.LastIndex(strings.TrimRight(stderr.String(), "\n"), "\n")+1:]
	if !strings.Contains(lastErr, "worker process crashed") {
		t.Errorf("stderr does not end saying the worker crashed: %q", lastErr)
	}
}

// lastLine returns the last line received from out once it is closed, and
// whether it was closed within limit, a hang detector rather than a
// timing bound.
func lastLine(out <-chan string, limit time.Duration) (last string, ended bool) {
	deadline := time.After(limit)
	for {
		select {
		case l, ok := <-out:
			if !ok {
				return last, true
			}
			last = l
		case <-deadline:
			return last, false
		}
	}
}

// TestKilledWorker kills sessgc's worker alone with SIGKILL in the middle
// of a sweep, as the out-of-memory killer, which picks the process with
// the most memory, or a kill -9 of the pid ps shows busy does. sessgc
// exited 137 without a word: no summary, no textfile, and cron, which
// mails only what a job prints, told no one. It now says on stderr that
// the worker was killed and by what. The next run finishes the sweep and
// leaves nothing aside, and no live session is lost.
func TestKilledWorker(t *testing.T) {
	st := newStore(t)
	live := st.save(5)
	st.expire(st.save(60)...)
	cmd, out, stderr, worker := runWorker(t, st)
	if err := syscall.Kill(worker, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, ended := lastLine(out, 2*time.Minute); !ended { // a hang detector only
		t.Fatal("the worker's output did not end")
	}
	if code := exitCode(t, cmd.Wait()); code != 128+int(syscall.SIGKILL) {
		t.Errorf("sessgc exited %d after its worker was killed, want %d\nstderr: %s", code, 128+int(syscall.SIGKILL), stderr.String())
	}
	if want := "sessgc: the worker process died of SIGKILL"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}

	r := runGC(t, []string{"run", "--dir", st.dir, "--json"})
	if _, s := summary(t, r); r.code != 0 || s.Errors != 0 || s.Live != int64(len(live)) {
		t.Errorf("the run after the killed one: exit %d, %+v; stderr %s", r.code, s, r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(st.dir, fsstore.DataDir, "*", ".*")); len(left) > 0 {
		t.Errorf("left in the store after the next run: %q", left)
	}
	for _, id := range live {
		if _, err := st.s.Load(context.Background(), id); err != nil {
			t.Errorf("live session after the killed sweep and the next: %v", err)
		}
	}
}

// TestSecondSignalKillsWorker: a second Ctrl-C (or SIGTERM) gives up on
// a worker whose clean stop hangs: sessgc kills it and exits at once. It
// did so without a word, and an operator could not tell a clean stop from
// one cut short, which may leave a record aside for the next run to put
// back. It now says so. Here the worker is stopped (SIGSTOP) so that its
// clean stop cannot end before the second signal.
func TestSecondSignalKillsWorker(t *testing.T) {
	cmd, out, stderr, worker := runWorkerStopped(t)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// Two signals sent at once may reach sessgc as one: the second is
	// sent once sessgc has passed the first on to the worker, where it
	// waits, pending, for the worker to run again.
	waitPending(t, worker, syscall.SIGINT)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if _, ended := lastLine(out, 2*time.Minute); !ended { // a hang detector only
		t.Fatal("the worker's output did not end")
	}
	if code := exitCode(t, cmd.Wait()); code != cmdutil.ExitInterrupted {
		t.Errorf("sessgc exited %d after a second SIGINT, want %d\nstderr: %s", code, cmdutil.ExitInterrupted, stderr.String())
	}
	if want := "sessgc: a second SIGINT: the worker process was killed"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// runWorker starts a slow sweep of st (--rate 2) and waits for its first
// removal: the worker is at work. sessgc is killed when the test ends.
func runWorker(t *testing.T, st *store) (cmd *exec.Cmd, out <-chan string, stderr *bytes.Buffer, worker int) {
	t.Helper()
	cmd = command([]string{"run", "--dir", st.dir, "--json", "-v", "--rate", "2"})
	stderr = new(bytes.Buffer)
	cmd.Stderr = stderr
	out = lines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitLine(t, out, `"event":"remove"`)
	return cmd, out, stderr, workerPID(t, cmd.Process.Pid)
}

// runWorkerStopped starts a sweep of a store with expired sessions, waits
// for its first removal, and stops (SIGSTOP) its worker, so that the
// worker's clean stop cannot end before the signals the test sends
// sessgc. Both processes are killed when the test ends.
func runWorkerStopped(t *testing.T) (cmd *exec.Cmd, out <-chan string, stderr *bytes.Buffer, worker int) {
	t.Helper()
	st := newStore(t)
	st.expire(st.save(60)...)
	cmd, out, stderr, worker = runWorker(t, st)
	if err := syscall.Kill(worker, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(worker, syscall.SIGKILL) })
	waitStopped(t, worker)
	return cmd, out, stderr, worker
}

// procGone ends t when what (process pid) has no /proc entry to read: it
// skips where this process has none either (no /proc mounted), and fails
// otherwise, for then the process is gone. A process gone before the
// test is done with it is what a broken sessgc does (a worker killed at
// the first signal, rather than stopped cleanly): a skip there passed
// the test.
func procGone(t *testing.T, pid int, what string) {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("cannot read /proc: %v", err)
	}
	t.Fatalf("%s (pid %d) is gone: it exited, or was killed, before the test was done with it", what, pid)
}

// waitPending waits until sig is pending for the (stopped) process pid,
// as /proc/PID/status lists it.
func waitPending(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	mask := uint64(1) << (sig - 1)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			procGone(t, pid, "the worker")
		}
		for _, l := range strings.Split(string(b), "\n") {
			for _, field := range []string{"SigPnd:", "ShdPnd:"} {
				if v, ok := strings.CutPrefix(l, field); ok {
					if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && n&mask != 0 {
						return
					}
				}
			}
		}
	}
	t.Fatalf("%v never pending for the worker", sig)
}

// waitStopped waits until every thread of process pid is stopped: a
// signal that reached one still running would be taken in by the Go
// runtime rather than stay pending.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
		if len(tasks) == 0 {
			procGone(t, pid, "the worker")
		}
		stopped := true
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil || !strings.Contains(string(b), "\nState:\tT") {
				stopped = false
				break
			}
		}
		if stopped {
			return
		}
	}
	t.Fatal("the worker did not stop")
}

// TestRepeatedHangupStopsCleanly: a dropped ssh session sends a run by
// hand SIGHUP twice (the shell passes it on to its jobs, then the kernel
// sends it to the terminal's foreground group as the shell exits), and a
// closed output's SIGPIPE may come more than once. Neither is an operator
// insisting: a repeat must not make sessgc give up on its worker's clean
// stop, as only a second Ctrl-C or SIGTERM does. sessgc killed the worker
// at the second SIGHUP, and the run ended with no summary and no textfile.
// Here the worker is stopped (SIGSTOP) until sessgc has taken in both
// signals, so that its clean stop cannot end before the repeat.
func TestRepeatedHangupStopsCleanly(t *testing.T) {
	// SIGPIPE takes the same path (any signal but SIGINT and SIGTERM).
	for _, sig := range []syscall.Signal{syscall.SIGHUP} {
		t.Run(cmdutil.SignalName(sig), func(t *testing.T) {
			cmdtest.HangupDefault(t) // under nohup, sessgc leaves SIGHUP ignored
			cmd, out, stderr, worker := runWorkerStopped(t)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitPending(t, worker, sig) // passed on: the repeat is the second
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitTaken(t, cmd.Process.Pid, sig)
			if err := syscall.Kill(worker, syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			last, ended := lastLine(out, 2*time.Minute) // a hang detector only
			if !ended {
				t.Fatal("the worker's output did not end")
			}
			want := 128 + int(sig)
			if code := exitCode(t, cmd.Wait()); code != want {
				t.Errorf("sessgc exited %d after %v twice, want %d\nstderr: %s", code, sig, want, stderr.String())
			}
			var s jsonSummary
			if err := json.Unmarshal([]byte(last), &s); err != nil || s.StopReason != "interrupted" || s.ExitCode != want {
				t.Errorf("the run ended with %q (%v); want the summary of a pass stopped cleanly\nstderr: %s", last, err, stderr.String())
			}
			if strings.Contains(stderr.String(), "killed") {
				t.Errorf("stderr %q: the worker was killed", stderr.String())
			}
		})
	}
}

// waitTaken waits until sig is no longer pending for process pid: its
// signal handler has taken it in.
func waitTaken(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	mask := uint64(1) << (sig - 1)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			procGone(t, pid, "sessgc")
		}
		pending := false
		for _, l := range strings.Split(string(b), "\n") {
			for _, field := range []string{"SigPnd:", "ShdPnd:"} {
				if v, ok := strings.CutPrefix(l, field); ok {
					if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil || n&mask != 0 {
						pending = true
					}
				}
			}
		}
		if !pending {
			return
		}
	}
	t.Fatalf("%v still pending for sessgc", sig)
}
