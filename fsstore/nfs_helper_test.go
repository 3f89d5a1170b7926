//go:build unix

package fsstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// Child processes of the NFS suite. A role function on a harness host
// re-runs the test binary (os.Args[0], which the guest sees through
// hostfs) with -test.run selecting TestNFSHelperProcess and nfsHelperEnv
// naming the child's role; parameters come in NFS_CHILD_* variables and
// the child reports on stdout, one line per message prefixed with
// nfsHelperPrefix. Children save and lock through nfsSave and nfsLock, so
// the deliberately broken variants (nfs_break_*_test.go) apply to them too.
const (
	nfsHelperEnv    = "SESSFS_NFS_HELPER"
	nfsHelperPrefix = "nfshelper: "
)

// TestNFSHelperProcess is not a test: it is the body of the NFS suite's
// child processes.
func TestNFSHelperProcess(t *testing.T) {
	role := os.Getenv(nfsHelperEnv)
	if role == "" {
		t.Skip("child process body for the NFS suite; runs only when it starts it")
	}
	if err := runNFSHelper(role); err != nil {
		fmt.Fprintf(os.Stderr, "nfs helper %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func nfsSay(format string, args ...any) { fmt.Printf(nfsHelperPrefix+format+"\n", args...) }

func nfsEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func runNFSHelper(role string) error {
	ctx := context.Background()
	s, err := fsstore.Open(os.Getenv("NFS_CHILD_DIR"))
	if err != nil {
		return err
	}
	defer s.Close()
	switch role {
	case "incr":
		return nfsIncrementers(ctx, s, strings.Split(os.Getenv("NFS_CHILD_IDS"), ","),
			os.Getenv("NFS_CHILD_MODE"), nfsEnvInt("NFS_CHILD_GOROUTINES", 1), nfsEnvInt("NFS_CHILD_ITER", 1))
	case "hold":
		// The store's own lock, whatever the breakage: this role tests that
		// the death of a holder frees the lock for other hosts.
		l, err := s.Lock(ctx, os.Getenv("NFS_CHILD_ID"), fsstore.Exclusive)
		if err != nil {
			return err
		}
		nfsSay("locked")
		io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin or kills us
		return l.Unlock()
	case "crash":
		return nfsCrashWriter(ctx, s, os.Getenv("NFS_CHILD_ID"))
	}
	return fmt.Errorf("unknown role %q", role)
}

// nfsIncrementers runs goroutines that each increment every session iter
// times, by mode "lock" (nfsLock, Load, +1, Save, Unlock) or "cas" (Load,
// +1, CompareAndSwap, retried on ErrConflict).
func nfsIncrementers(ctx context.Context, s *fsstore.Store, ids []string, mode string, goroutines, iter int) error {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < iter; i++ {
				for j := range ids {
					id := ids[(g+j)%len(ids)] // goroutines start on different sessions
					var err error
					if mode == "cas" {
						err = nfsIncrementCAS(ctx, s, id)
					} else {
						err = nfsIncrementLocked(ctx, s, id)
					}
					if err != nil {
						errs <- fmt.Errorf("%s increment of %s: %w", mode, id, err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func nfsIncrementLocked(ctx context.Context, s *fsstore.Store, id string) error {
	l, err := nfsLock(ctx, s, id)
	if err != nil {
		return err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	if err != nil {
		return err
	}
	n, err := counterOf(sess)
	if err != nil {
		return err
	}
	sess.Data = []byte(strconv.Itoa(n + 1))
	if err := l.Save(ctx, sess); err != nil {
		return err
	}
	return l.Unlock()
}

func nfsIncrementCAS(ctx context.Context, s *fsstore.Store, id string) error {
	for {
		sess, err := s.Load(ctx, id)
		if err != nil {
			return err
		}
		n, err := counterOf(sess)
		if err != nil {
			return err
		}
		sess.Data = []byte(strconv.Itoa(n + 1))
		err = s.CompareAndSwap(ctx, sess)
		if errors.Is(err, fsstore.ErrConflict) {
			continue
		}
		return err
	}
}

// nfsPayload is genPayload at ~96 KiB and ~2 KiB: smaller than the local
// crash test's, as every byte crosses the (emulated) network.
func nfsPayload(n int) []byte { return genPayload(n, 96<<10, 2000) }

func nfsParsePayload(b []byte) (int, bool) { return parseGenPayload(b, 96<<10, 2000) }

// nfsCrashWriter saves generation after generation of one session until it
// is killed, continuing from the generation on disk.
func nfsCrashWriter(ctx context.Context, s *fsstore.Store, id string) error {
	sess, err := s.Load(ctx, id)
	if err != nil {
		return err
	}
	n, ok := nfsParsePayload(sess.Data)
	if !ok {
		return fmt.Errorf("found a damaged value: %.40q", sess.Data)
	}
	for first := true; ; first = false {
		n++
		sess.Data = nfsPayload(n)
		if err := nfsSave(ctx, s, sess); err != nil {
			return err
		}
		if first {
			nfsSay("saved %d", n)
		}
	}
}

// nfsChild is a running helper process.
type nfsChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *nfsBuffer
	waited chan struct{}
	err    error
}

// nfsBuffer collects a child's stderr for failure messages.
type nfsBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *nfsBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *nfsBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startNFSChild starts a child in role with the store in dir and extra
// NFS_CHILD_* variables. A cleanup kills it if the test did not wait for it.
func startNFSChild(t *testing.T, role, dir string, env ...string) *nfsChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNFSHelperProcess$")
	cmd.Env = append(append(os.Environ(), nfsHelperEnv+"="+role, "NFS_CHILD_DIR="+dir), env...)
	c := &nfsChild{cmd: cmd, lines: make(chan string, 16), stderr: new(nfsBuffer), waited: make(chan struct{})}
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
			if s, ok := strings.CutPrefix(sc.Text(), nfsHelperPrefix); ok {
				c.lines <- s
			}
		}
		close(c.lines)
		c.err = cmd.Wait()
		close(c.waited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.waited:
		default:
			cmd.Process.Kill()
			<-c.waited
		}
	})
	return c
}

// expect waits for the child's next message and checks its prefix.
func (c *nfsChild) expect(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	select {
	case s, ok := <-c.lines:
		if !ok {
			<-c.waited
			t.Fatalf("child exited (%v) before saying %q; stderr:\n%s", c.err, prefix, c.stderr)
		}
		if !strings.HasPrefix(s, prefix) {
			t.Fatalf("child said %q, want %q...; stderr:\n%s", s, prefix, c.stderr)
		}
		return s
	case <-time.After(timeout):
		t.Fatalf("child did not say %q within %v; stderr:\n%s", prefix, timeout, c.stderr)
	}
	return ""
}

// kill SIGKILLs the child and waits for it to be gone.
func (c *nfsChild) kill() {
	c.cmd.Process.Kill()
	for range c.lines {
	}
	<-c.waited
}

// finish closes the child's stdin and waits for a clean exit.
func (c *nfsChild) finish(t *testing.T) {
	t.Helper()
	c.stdin.Close()
	for range c.lines {
	}
	<-c.waited
	if c.err != nil {
		t.Errorf("child: %v; stderr:\n%s", c.err, c.stderr)
	}
}
