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
// the server and that it did not answer; the server is left out of the
// rest of the run, and the directory's results are printed.
func TestRunRedisGoesSilent(t *testing.T) {
	addr, proc := startRedisProcess(t, nil, nil)
	d := benchDir(t)
	// Enough operations, in short rounds that interleave the directory
	// and Redis, for the run to go on for many seconds: the server is
	// stopped once it holds the run's sessions, during the measurement.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang detector
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--dir", d, "--redis", addr, "--workload", "load", "--ops", "100000",
		"--rounds", "500", "--warmup", "0", "--concurrency", "2", "--sessions", "4", "--size", "1KiB", "--durability", "none")
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
	checkLeftOut(t, d, addr, out.String())
}

// TestRunRedisDies: the Redis server of sessbench run is killed mid-run
// (SIGKILL: a crash, an out-of-memory kill). Its commands are refused, and
// the first measurement whose every operation failed stopped the run:
// exit 1, no report, and the results of every other target, measured for
// as long as the run had lasted, were lost with it. The server is now left
// out of the rest of the run, as sessbench http leaves out a failed peer:
// the other targets' results are printed, the server listed as failed with
// its error there and on stderr, and sessbench exits 1.
func TestRunRedisDies(t *testing.T) {
	addr, proc := startRedisProcess(t, nil, nil)
	d := benchDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang detector
	defer cancel()
	// Short rounds that interleave the directory and Redis, for long
	// enough that the server is killed during the measurement.
	cmd := exec.CommandContext(ctx, binary, "run", "--dir", d, "--redis", addr, "--workload", "load", "--ops", "100000",
		"--rounds", "500", "--warmup", "0", "--concurrency", "2", "--sessions", "4", "--size", "1KiB", "--durability", "none")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	// Once the run's loads have begun: a server killed while the sessions
	// are written stops the run before anything is measured.
	waitFor(t, "the run's loads in Redis", time.Minute, func() bool {
		info, err := c.Info(context.Background(), "commandstats").Result()
		return err == nil && strings.Contains(info, "cmdstat_get:calls=")
	})
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("sessbench run did not end with its Redis server killed; stderr:\n%s", errOut.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want 1; stderr:\n%s", err, errOut.String())
	}
	if msg := errOut.String(); !strings.Contains(msg, addr) || !strings.Contains(msg, "every operation failed") {
		t.Errorf("stderr does not say that every operation on %s failed:\n%s", addr, msg)
	}
	checkLeftOut(t, d, addr, out.String())
}

// checkLeftOut checks the report of a run whose Redis server at addr
// failed: the directory d's results, none of Redis's, and Redis listed
// as failed, with its address.
func checkLeftOut(t *testing.T, d, addr, report string) {
	t.Helper()
	var dirRows, redisRows int
	for _, line := range strings.Split(report, "\n") {
		switch f := strings.Fields(line); {
		case len(f) > 2 && f[0] == d && f[1] == "load":
			dirRows++
		case len(f) > 2 && f[0] == "redis" && f[1] == "load":
			redisRows++
		}
	}
	if dirRows != 1 || redisRows != 0 {
		t.Errorf("%d rows of the directory's results and %d of the failed server's, want 1 and 0:\n%s", dirRows, redisRows, report)
	}
	if _, failed, ok := strings.Cut(report, "Failed"); !ok || !strings.Contains(failed, addr) {
		t.Errorf("the report does not list the server %s as failed:\n%s", addr, report)
	}
}
