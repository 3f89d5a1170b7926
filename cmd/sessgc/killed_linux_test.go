package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
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
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("cannot list the worker process: %v", err)
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
	cmd := command([]string{"run", "--dir", st.dir, "--json", "-v", "--rate", "2"})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out := lines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitLine(t, out, `"event":"remove"`)
	worker := workerPID(t, cmd.Process.Pid)
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
