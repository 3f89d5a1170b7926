//go:build unix

package lock_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestExecChildKeepsNoLock: a process that starts another program with
// os/exec while it holds locks, and then dies, leaves them free though
// that program still runs. A flock belongs to the open file description:
// a lock descriptor inherited across exec (one opened without
// O_CLOEXEC) would keep every lock taken through it held until the
// program exits, a sessgc sweep's fleet lock behind a hook it started,
// an app's session locks behind a worker it forked.
func TestExecChildKeepsNoLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "fleet.lock")
	inDir := t.TempDir()
	holder := startChild(t, "holdexec", append(strategyEnv(dir, "a", lock.Config{Strategy: lock.Flock}),
		"LOCK_PATH="+path, "LOCK_INDIR="+inDir)...)
	msg := holder.Expect(t, "spawned")
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(msg, "spawned")))
	if err != nil {
		t.Fatalf("holder said %q", msg)
	}
	// The program the holder started outlives it; ended here, by its id.
	defer syscall.Kill(pid, syscall.SIGKILL)
	holder.Kill(t)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the program the holder started is gone (%v): nothing tested", err)
	}
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
	for _, tc := range []struct {
		name string
		take func() (func() error, error)
	}{
		{"Table", func() (func() error, error) {
			h, err := tab.TryLock("a", "a", lock.Exclusive)
			if err != nil {
				return nil, err
			}
			return h.Unlock, nil
		}},
		{"TryLockFile", func() (func() error, error) {
			l, err := lock.TryLockFile(path)
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}},
		{"TryLockFileIn", func() (func() error, error) {
			l, err := lock.TryLockFileIn(inDir, "in.lock", 0o600)
			if err != nil {
				return nil, err
			}
			return l.Unlock, nil
		}},
	} {
		unlock, err := tc.take()
		if err != nil {
			t.Errorf("%s: the lock of a killed holder, while a program it started runs: %v", tc.name, err)
			if errors.Is(err, lock.ErrLocked) {
				t.Logf("the program (pid %d) inherited the lock's descriptor", pid)
			}
			continue
		}
		unlock()
	}
}

// helperHoldExec holds the lock name of tab, the FileLock at LOCK_PATH
// and "in.lock" in LOCK_INDIR, starts a program that outlives it, reports
// "spawned PID" and waits until stdin closes or it is killed.
func helperHoldExec(tab *lock.Table, name string) error {
	if _, err := tab.TryLock(name, name, lock.Exclusive); err != nil {
		return err
	}
	if _, err := lock.TryLockFile(os.Getenv("LOCK_PATH")); err != nil {
		return err
	}
	if _, err := lock.TryLockFileIn(os.Getenv("LOCK_INDIR"), "in.lock", 0o600); err != nil {
		return err
	}
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		return err
	}
	say("spawned %d", cmd.Process.Pid)
	io.Copy(io.Discard, os.Stdin)
	return nil
}
