//go:build unix

package installcron

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestIDFollowsTheCommandsContext: install-cron asks "id -G USER" for the
// groups of a user that this host's group lookup does not list in the
// store's group, and id asks the directory service (LDAP, sssd), which may
// not answer. The call was bounded at 10 s and nothing else: Ctrl-C or
// systemctl stop during it went unheeded until then, and the run ended
// with a refusal that blamed the user's groups. It now ends when the
// command's context does, with the interruption's error (130 for a
// signal's, a failure for another end) and nothing written; and an id
// whose child keeps its output open (a helper it started) does not hold
// it either.
func TestIDFollowsTheCommandsContext(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to give the store to another user")
	}
	const gid = 4242
	if _, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		t.Skipf("gid %d has a name on this host", gid)
	}
	if _, err := user.Lookup("daemon"); err != nil {
		t.Skipf("no user daemon on this host: %v", err)
	}
	shared := ownedStore(t, 65534, gid, true)
	sigint := &cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: fmt.Errorf("%w by SIGINT", cmdutil.ErrInterrupted)}
	for _, tc := range []struct {
		name  string
		child bool  // id's output is held by a child of its own
		cause error // the context's cause; nil: cancelled without one
		code  int
		is    error
	}{
		{"SIGINT", false, sigint, cmdutil.ExitInterrupted, cmdutil.ErrInterrupted},
		{"cancelled", false, nil, cmdutil.ExitFailure, context.Canceled},
		{"SIGINT, a child holds the output", true, sigint, cmdutil.ExitInterrupted, cmdutil.ErrInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := hangingID(t, tc.child)
			write := t.TempDir()
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan error, 1)
			go func() {
				var out, errOut strings.Builder
				cmd := NewCmdInstallCron(&cmdutil.IOStreams{Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}, nil)
				cmd.SetArgs([]string{"--dir", shared, "--user", "daemon", "--write", write})
				cmd.SetOut(&out)
				cmd.SetErr(&errOut)
				cmd.SilenceUsage, cmd.SilenceErrors = true, true
				done <- cmd.ExecuteContext(ctx)
			}()
			waitFile(t, started)
			cancel(tc.cause)
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a hang detector, above id's own 10 s bound
				t.Fatal("install-cron did not return after its context ended")
			}
			if cmdutil.ExitCode(err) != tc.code || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), "id -G daemon") {
				t.Errorf("install-cron: %v (exit %d); want exit %d, an error matching %v that names id -G daemon", err, cmdutil.ExitCode(err), tc.code, tc.is)
			}
			if ents, _ := os.ReadDir(write); len(ents) != 0 {
				t.Errorf("interrupted, but wrote %v", ents)
			}
		})
	}
}

// hangingID puts an id command first in $PATH that never answers: it
// creates the returned file, then sleeps, itself or (child) in a process
// of its own that keeps id's output open and that the test ends.
func hangingID(t *testing.T, child bool) (started string) {
	t.Helper()
	dir := t.TempDir()
	started, pidFile := filepath.Join(dir, "started"), filepath.Join(dir, "child.pid")
	script := "#!/bin/sh\n: > " + started + "\nexec sleep 3600\n"
	if child {
		script = "#!/bin/sh\nsleep 3600 &\necho $! > " + pidFile + "\n: > " + started + "\nwait\n"
		t.Cleanup(func() {
			b, err := os.ReadFile(pidFile)
			if err != nil {
				return
			}
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "id"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return started
}

// waitFile polls for p to exist, up to a hang detector's deadline.
func waitFile(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear: the fake id did not run", p)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not a wait for an event
	}
}
