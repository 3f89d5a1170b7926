package nfstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/proctest"
)

// The machine-wide guest lock between real processes. None of these tests
// boots a guest.

const lockHelperEnv = "NFSTEST_LOCK_HELPER"

// TestLockHelper is the child processes' main: the role is "hold", "try" or
// "wait"; the lock file is $NFSTEST_LOCK_PATH.
//   - hold: takes the lock, says "locked PATH", and holds it until stdin
//     closes.
//   - try: one attempt with a 300 ms deadline; says "ok PATH" or "err MSG".
//   - wait: waits up to a minute, says "waiting HOLDER" if it has to, then
//     "ok PATH" or "err MSG".
func TestLockHelper(t *testing.T) {
	proctest.Main(t, lockHelperEnv, func(role string) error {
		path := os.Getenv("NFSTEST_LOCK_PATH")
		d := time.Minute
		if role == "try" {
			d = 300 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		locked, release, err := lockMachine(ctx, path, func(holder string) {
			if role == "wait" {
				proctest.Say("waiting %s", holder)
			}
		})
		if err != nil {
			if !errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("error %q is not ErrLockTimeout wrapping DeadlineExceeded", err)
			}
			proctest.Say("err %s", strings.ReplaceAll(err.Error(), "\n", " "))
			return nil
		}
		defer release()
		if role == "hold" {
			proctest.Say("locked %s", locked)
			bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
			return nil
		}
		proctest.Say("ok %s", locked)
		return nil
	})
}

func startLockHelper(t *testing.T, role, path string) *proctest.Child {
	t.Helper()
	return proctest.Start(t, "TestLockHelper", lockHelperEnv, role, []string{"NFSTEST_LOCK_PATH=" + path})
}

// TestMachineLockAcrossProcesses: while one process holds the lock, another
// gives up at its deadline with an error naming the holder's pid, and a
// third that waits gets the lock once the holder lets go.
func TestMachineLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uml.lock")
	holder := startLockHelper(t, "hold", path)
	if got := holder.Expect(t, "locked"); got != "locked "+path {
		t.Fatalf("holder: %q, want the lock file itself", got)
	}
	pid := "pid " + strconv.Itoa(holder.Cmd.Process.Pid) + " ("

	try := startLockHelper(t, "try", path)
	if got := try.Expect(t, "err"); !strings.Contains(got, pid) || !strings.Contains(got, path) {
		t.Errorf("contender's error %q does not name the lock file and the holder's %s...)", got, pid)
	}
	try.Finish(t)

	// The parent too: an expired context returns at once, naming the holder.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := lockMachine(ctx, path, nil); !errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), pid) {
		t.Errorf("lockMachine with a cancelled context while another process holds the lock: %v", err)
	}

	waiter := startLockHelper(t, "wait", path)
	if got := waiter.Expect(t, "waiting"); !strings.Contains(got, pid) {
		t.Errorf("waiter was told %q, want the holder's %s...)", got, pid)
	}
	holder.Finish(t) // closes its stdin: it releases and exits
	if got := waiter.Expect(t, "ok"); got != "ok "+path {
		t.Errorf("waiter after the holder let go: %q", got)
	}
	waiter.Finish(t)
}

// TestMachineLockHeldByAncestor: a run started under `flock PATH go test
// ./...` must not wait for its own outer lock (it would wait forever): a
// process whose ancestor holds PATH takes PATH.1 instead, and the sibling
// processes of that one run still exclude each other there.
func TestMachineLockHeldByAncestor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uml.lock")
	locked, release, err := lockMachine(context.Background(), path, nil) // this process: the children's "flock"
	if err != nil || locked != path {
		t.Fatalf("lockMachine = %q, %v", locked, err)
	}
	defer release()

	inner := startLockHelper(t, "hold", path)
	if got := inner.Expect(t, "locked"); got != "locked "+path+".1" {
		t.Fatalf("child of the holder: %q, want the nested lock %s.1", got, path)
	}
	sibling := startLockHelper(t, "try", path)
	if got := sibling.Expect(t, "err"); !strings.Contains(got, path+".1") || !strings.Contains(got, "pid "+strconv.Itoa(inner.Cmd.Process.Pid)+" (") {
		t.Errorf("sibling while the first child holds %s.1: %q", path, got)
	}
	sibling.Finish(t)
	inner.Finish(t)
	after := startLockHelper(t, "try", path)
	if got := after.Expect(t, "ok"); got != "ok "+path+".1" {
		t.Errorf("sibling after the first child let go: %q", got)
	}
	after.Finish(t)
}

// TestMachineLockSameProcess: two Runs of one test binary (parallel
// subtests) exclude each other too: flock locks belong to open files, not
// to processes.
func TestMachineLockSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uml.lock")
	_, release, err := lockMachine(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := lockMachine(ctx, path, nil); !errors.Is(err, ErrLockTimeout) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())+" (") {
		t.Errorf("second lock in the same process: %v, want ErrLockTimeout naming this process", err)
	}
	release()
	// The second call's waiter, left blocked in flock when its context
	// ended, may take the lock the moment it is free and let go of it at
	// once: the next lock waits for that, it does not fail on it.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, release, err = lockMachine(ctx, path, nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}
