//go:build unix

package main_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRunRedisGoesSilent: the Redis server of sessbench run stops
// answering mid-run (here a real redis-server, SIGSTOPped, as a hung
// server or a network that drops its packets). Each command timed out
// after go-redis's default 5 s and was counted as a failed operation, and the run
// went on: with --ops, every operation of the quota left waited its 5 s
// (hours), and with --duration the run measured nothing but timeouts for
// as long as it lasted, the error a bare "i/o timeout". The first command
// the server does not answer in time now stops the run: exit 1, naming
// the server and that it did not answer.
func TestRunRedisGoesSilent(t *testing.T) {
	addr, proc := startRedisProcess(t, nil, nil)
	d := benchDir(t)
	// Enough operations, in short rounds that interleave the directory
	// and Redis, for the run to go on for many seconds: the server is
	// stopped once it holds the run's sessions, during the measurement.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang detector
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--dir", d, "--redis", addr, "--workload", "load", "--ops", "4000000",
		"--rounds", "2000", "--warmup", "0", "--concurrency", "2", "--sessions", "4", "--size", "1KiB", "--durability", "none")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	waitFor(t, "the run's sessions in Redis", time.Minute, func() bool {
		n, err := c.DBSize(context.Background()).Result()
		return err == nil && n >= 4
	})
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer proc.Signal(syscall.SIGCONT)
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("sessbench run did not end with its Redis server stopped; stderr:\n%s", errOut.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want 1; stderr:\n%s", err, errOut.String())
	}
	if msg := errOut.String(); !strings.Contains(msg, addr) || !strings.Contains(msg, "did not answer") {
		t.Errorf("stderr does not say that the server %s did not answer:\n%s", addr, msg)
	}
}
