//go:build unix

package lock_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// Cross-process tests re-run this test binary as a child selected by
// helperEnv; the child reads its parameters from the environment and talks
// to the parent over stdin/stdout, one line per message, prefixed with
// helperPrefix so that anything else the binary prints is ignored.
const (
	helperEnv    = "SESSFS_LOCK_HELPER"
	helperPrefix = "helper: "
)

// childDeadline bounds how long the parent waits for a child's message. It
// only turns a hung test into a failure; nothing is measured against it.
const childDeadline = 60 * time.Second

// TestHelperProcess is not a test: it is the body of the child processes.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("child process body for the cross-process tests; runs only when they start it")
	}
	err := runHelper(role)
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func say(format string, args ...any) {
	fmt.Printf(helperPrefix+format+"\n", args...)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func helperConfig() (lock.Config, error) {
	st, err := lock.ParseStrategy(os.Getenv("LOCK_STRATEGY"))
	if err != nil {
		return lock.Config{}, err
	}
	cfg := lock.Config{Dir: os.Getenv("LOCK_DIR"), Strategy: st}
	if v := os.Getenv("LOCK_TTL"); v != "" {
		if cfg.LeaseTTL, err = time.ParseDuration(v); err != nil {
			return cfg, err
		}
	}
	if v := os.Getenv("LOCK_GRACE"); v != "" {
		if cfg.LeaseGrace, err = time.ParseDuration(v); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func runHelper(role string) error {
	cfg, err := helperConfig()
	if err != nil {
		return err
	}
	tab, err := lock.NewTable(cfg)
	if err != nil {
		return err
	}
	defer tab.Close()
	name := os.Getenv("LOCK_NAME")
	switch role {
	case "count":
		return helperCount(tab, name, os.Getenv("LOCK_COUNTER"), envInt("LOCK_GOROUTINES", 1), envInt("LOCK_ITER", 10))
	case "hold":
		return helperHold(tab, name)
	}
	return fmt.Errorf("unknown role %q", role)
}

// helperCount increments the counter file under the lock, non-atomically:
// read, yield, write. Without mutual exclusion updates get lost (or a reader
// sees the file truncated by a concurrent write and fails to parse it).
func helperCount(tab *lock.Table, name, counter string, goroutines, iter int) error {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < iter; i++ {
				if err := incrementUnderLock(tab, name, counter); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(<-errs)
}

func incrementUnderLock(tab *lock.Table, name, counter string) error {
	h, err := tab.Lock(context.Background(), name, lock.Exclusive)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(counter)
	if err != nil {
		h.Unlock()
		return err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		h.Unlock()
		return fmt.Errorf("counter file holds %q: a concurrent writer truncated it: %w", b, err)
	}
	runtime.Gosched()
	if err := h.Verify(); err != nil {
		h.Unlock()
		return err
	}
	if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
		h.Unlock()
		return err
	}
	return h.Unlock()
}

// helperHold takes the lock, reports "locked", then obeys commands from
// stdin ("verify", "unlock") until stdin closes.
func helperHold(tab *lock.Table, name string) error {
	h, err := tab.Lock(context.Background(), name, lock.Exclusive)
	if err != nil {
		return err
	}
	say("locked")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "verify":
			say("verify %s", classify(h.Verify()))
		case "unlock":
			say("unlock %s", classify(h.Unlock()))
		}
	}
	return nil
}

func classify(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, lock.ErrLockLost):
		return "lost: " + err.Error()
	}
	return "error: " + err.Error()
}

// lockedBuffer collects a child's stderr for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// child is a running helper process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *lockedBuffer
	done   bool
}

// startChild starts the helper with role and extra environment variables.
// The process is killed at the end of the test if still running.
func startChild(t *testing.T, role string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+role), env...)
	c := &child{cmd: cmd, lines: make(chan string, 16), stderr: new(lockedBuffer)}
	cmd.Stderr = c.stderr
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
			if s, ok := strings.CutPrefix(sc.Text(), helperPrefix); ok {
				c.lines <- s
			}
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		if !c.done {
			c.cmd.Process.Kill()
			c.wait()
		}
	})
	return c
}

// expect waits for the child's next message and checks its prefix.
func (c *child) expect(t *testing.T, prefix string) string {
	t.Helper()
	select {
	case s, ok := <-c.lines:
		if !ok {
			t.Fatalf("child exited before saying %q; stderr:\n%s", prefix, c.stderr)
		}
		if !strings.HasPrefix(s, prefix) {
			t.Fatalf("child said %q, want %q...; stderr:\n%s", s, prefix, c.stderr)
		}
		return s
	case <-time.After(childDeadline):
		t.Fatalf("child did not say %q within %v; stderr:\n%s", prefix, childDeadline, c.stderr)
	}
	return ""
}

func (c *child) send(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		t.Fatal(err)
	}
}

// wait reaps the child after its output is drained (exec.Cmd requires the
// reads to finish before Wait).
func (c *child) wait() error {
	for range c.lines {
	}
	c.done = true
	return c.cmd.Wait()
}

// finish closes stdin and checks that the child exits successfully.
func (c *child) finish(t *testing.T) {
	t.Helper()
	c.stdin.Close()
	if err := c.wait(); err != nil {
		t.Fatalf("child: %v; stderr:\n%s", err, c.stderr)
	}
}

// kill sends SIGKILL and reaps the child: once this returns, the kernel
// has closed every descriptor of the child and so released its flocks.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.wait()
}

func strategyEnv(dir, name string, cfg lock.Config) []string {
	env := []string{"LOCK_DIR=" + dir, "LOCK_NAME=" + name, "LOCK_STRATEGY=" + cfg.Strategy.String()}
	if cfg.LeaseTTL != 0 {
		env = append(env, "LOCK_TTL="+cfg.LeaseTTL.String())
	}
	if cfg.LeaseGrace != 0 {
		env = append(env, "LOCK_GRACE="+cfg.LeaseGrace.String())
	}
	return env
}
