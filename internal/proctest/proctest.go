// Package proctest runs copies of the current test binary as child
// processes, for tests that need real processes (locks held by another
// process, a writer killed mid-save) rather than goroutines.
//
// The parent starts a child with Start, naming a test function that acts as
// the child's main when an environment variable selects a role; the child
// reports to the parent with Say, one line per message, and may read
// commands from stdin. Lines without the package's prefix are ignored, so
// whatever else the test binary prints does not confuse the parent.
package proctest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
)

const prefix = "helper: "

// Deadline bounds how long Expect waits for a message. It only turns a hung
// child into a test failure; nothing is measured against it.
const Deadline = 60 * time.Second

// Say prints a message for the parent. Children call it.
func Say(format string, args ...any) { fmt.Printf(prefix+format+"\n", args...) }

// Main is the body of the test function that Start names: in a child
// (envVar set) it runs run with the role and exits, 0 when run returns nil,
// else 1 with the error on stderr, which the parent shows when the child
// fails. In the parent it skips t.
func Main(t *testing.T, envVar string, run func(role string) error) {
	role := os.Getenv(envVar)
	if role == "" {
		t.Skip("child process body for the cross-process tests; runs only when they start it")
	}
	if err := run(role); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// EnvInt returns the integer in the environment variable name, or def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// Option adjusts a child's command before it starts.
type Option func(*exec.Cmd)

// Child is a running child process.
type Child struct {
	// Cmd is the child's command; Cmd.Process may be signalled.
	Cmd *exec.Cmd
	// Stderr collects the child's standard error, for failure messages.
	Stderr *testenv.Buffer

	stdin  io.WriteCloser
	lines  chan string
	waited chan struct{}
	err    error // Cmd.Wait's result, once waited is closed
}

// Start runs the test function test of the current binary with envVar set to
// role and the extra environment env. A cleanup kills the child if the test
// has not waited for it.
func Start(t testing.TB, test, envVar, role string, env []string, opts ...Option) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(append(os.Environ(), envVar+"="+role, ChildGORACE()), env...)
	for _, o := range opts {
		o(cmd)
	}
	c := &Child{Cmd: cmd, Stderr: new(testenv.Buffer), lines: make(chan string, 16), waited: make(chan struct{})}
	cmd.Stderr = c.Stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				c.lines <- s
			}
		}
		close(c.lines)
		// exec.Cmd requires the reads to finish before Wait.
		c.err = cmd.Wait()
		close(c.waited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.waited:
		default:
			cmd.Process.Kill()
			c.Wait()
		}
	})
	return c
}

// ChildGORACE is the environment entry (GORACE=...) of the race
// detector's settings for a child of the test binary: the parent's,
// without the second a race-enabled binary otherwise sleeps at its exit
// (atexit_sleep_ms, 1000 by default) to let goroutines still running
// meet a race. A test waited out that second for every child that exited,
// 144 of them in fsstore's TestMarkerRaiseMultiProcess alone, with the
// cores idle. A child's goroutines that outlive its role are the stores'
// background work, which Close ends (fsstore's TestStoreLeakAudit), and
// the parent, which runs the same code in-process, keeps the default. A
// setting of the parent's own for atexit_sleep_ms stands. Start puts it in
// its children's environment; a test that starts a copy of the binary
// otherwise (in namespaces of its own, say) puts it in that child's.
func ChildGORACE() string {
	v := os.Getenv("GORACE")
	if strings.Contains(v, "atexit_sleep_ms") {
		return "GORACE=" + v
	}
	return "GORACE=" + strings.TrimSpace(v+" atexit_sleep_ms=0")
}

// Expect waits up to Deadline for the child's next message and checks that
// it starts with want; it returns the message.
func (c *Child) Expect(t testing.TB, want string) string {
	t.Helper()
	return c.ExpectWithin(t, want, Deadline)
}

// ExpectWithin is Expect with another deadline.
func (c *Child) ExpectWithin(t testing.TB, want string, d time.Duration) string {
	t.Helper()
	select {
	case s, ok := <-c.lines:
		if !ok {
			<-c.waited
			t.Fatalf("child exited (%v) before saying %q; stderr:\n%s", c.err, want, c.Stderr)
		}
		if !strings.HasPrefix(s, want) {
			t.Fatalf("child said %q, want %q...; stderr:\n%s", s, want, c.Stderr)
		}
		return s
	case <-time.After(d):
		t.Fatalf("child did not say %q within %v; stderr:\n%s", want, d, c.Stderr)
	}
	return ""
}

// Send writes one command line to the child's stdin.
func (c *Child) Send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// Wait discards the child's remaining messages, waits for it to exit and
// returns its exit error.
func (c *Child) Wait() error {
	for range c.lines {
	}
	<-c.waited
	return c.err
}

// Finish closes the child's stdin and fails t unless it exits successfully.
func (c *Child) Finish(t testing.TB) {
	t.Helper()
	c.stdin.Close()
	if err := c.Wait(); err != nil {
		t.Fatalf("child: %v; stderr:\n%s", err, c.Stderr)
	}
}

// ErrHung reports a child that did not exit when told to.
var ErrHung = errors.New("proctest: child hung")

// Stop closes the child's stdin and waits up to d for it to exit, so that a
// child stuck forever fails the test within d instead of at go test's
// timeout. A child still running then gets SIGQUIT, on which the Go
// runtime prints every goroutine's stack to stderr and exits (SIGKILL if it
// has not within Deadline, or where SIGQUIT cannot be sent); the error,
// ErrHung, carries that stderr. A child that exits in time but fails
// yields its exit error and stderr.
func (c *Child) Stop(d time.Duration) error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("child: %w; stderr:\n%s", err, c.Stderr)
		}
		return nil
	case <-timer.C:
	}
	quit := time.NewTimer(Deadline)
	defer quit.Stop()
	if c.Cmd.Process.Signal(syscall.SIGQUIT) != nil {
		quit.Reset(0)
	}
	select {
	case <-done:
	case <-quit.C:
		c.Cmd.Process.Kill()
		<-done
	}
	return fmt.Errorf("%w: still running %v after its stdin closed; its stderr (stacks on SIGQUIT):\n%s", ErrHung, d, c.Stderr)
}

// Kill sends SIGKILL and waits for the child: once Kill returns, the kernel
// has closed every descriptor of the child and so released its locks.
func (c *Child) Kill(t testing.TB) {
	t.Helper()
	if err := c.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.Wait()
}
