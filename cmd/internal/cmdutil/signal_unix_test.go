//go:build unix

package cmdutil

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExtraSignalHeldDuringCleanup: after the first signal, SIGHUP does
// not kill the cleanup. A dropped SSH
// session can send SIGHUP twice (the kernel's, the shell's), or during
// the cleanup of a run stopped by Ctrl-C; its default action killed the
// process with the run's sessions left on the mount.
func TestExtraSignalHeldDuringCleanup(t *testing.T) {
	if os.Getenv("CMDUTIL_SIGNAL_CHILD") == "1" {
		ctx, stop := InterruptContext(context.Background())
		defer stop()
		syscall.Kill(os.Getpid(), syscall.SIGHUP)
		<-ctx.Done()
		// The second SIGHUP, then a signal caught here: the kernel
		// delivers the lower-numbered pending signal first.
		usr := make(chan os.Signal, 1)
		signal.Notify(usr, syscall.SIGUSR1)
		syscall.Kill(os.Getpid(), syscall.SIGHUP)
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		<-usr
		os.Stdout.WriteString("cleanup done\n")
		os.Exit(0)
	}
	// The child must start with SIGHUP at its default: run with it ignored
	// (nohup, or a CI runner that ignores it), the child would inherit the
	// ignoring, InterruptContext would leave SIGHUP alone as it does under
	// nohup, and the child would wait for a signal that never comes. A
	// signal caught here starts at its default in a child.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestExtraSignalHeldDuringCleanup$")
	cmd.Env = append(os.Environ(), "CMDUTIL_SIGNAL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "cleanup done") {
		t.Fatalf("a second SIGHUP during the cleanup: %v, output %q", err, out)
	}
}

// TestInterruptNamesSignal: the error of a command stopped by a signal
// names it. "interrupted" alone after a SIGTERM (a service manager, the
// OOM-avoiding supervisor) or a SIGHUP (the SSH session gone) sent the
// operator looking for a Ctrl-C nobody typed.
func TestInterruptNamesSignal(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		want string
		code int
	}{
		{syscall.SIGINT, "interrupted by SIGINT", 130},
		{syscall.SIGTERM, "interrupted by SIGTERM", 143},
		{syscall.SIGHUP, "interrupted by SIGHUP", 129},
		{syscall.SIGPIPE, "interrupted by SIGPIPE", 141},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if signal.Ignored(tt.sig) {
				t.Skipf("%v is ignored by this process (nohup?)", tt.sig)
			}
			ctx, stop := InterruptContext(context.Background(), syscall.SIGPIPE)
			defer stop()
			syscall.Kill(os.Getpid(), tt.sig)
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
				t.Fatalf("%v did not end the context", tt.sig)
			}
			err := Interrupted(ctx, nil)
			if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInterrupted) || ExitCode(err) != tt.code {
				t.Errorf("after %v: %v (exit %d), want %q (exit %d)", tt.sig, err, ExitCode(err), tt.want, tt.code)
			}
		})
	}
}
