package main_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/fsstore"
)

// TestRedisSessionsOutliveTheRun: the Redis target keeps a session for the
// TTL it was opened with after each write (a session handler's 24 minutes
// did not last a long run), and says so in its Info; and touching a
// session that is gone fails rather than measuring PEXPIRE's cheap "no
// such key" as a touch.
func TestRedisSessionsOutliveTheRun(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	srv, err := redisaddr.Parse(addr, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 26 * time.Hour
	tg, err := redistarget.Open(ctx, "redis", srv, 1, ttl, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if got := tg.Info().SessionIdleSec; got != ttl.Seconds() {
		t.Errorf("Info says sessions live %vs, want %vs", got, ttl.Seconds())
	}
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	key := func() string {
		keys, err := c.Keys(ctx, "*"+id).Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys of the session: %v %v", keys, err)
		}
		return keys[0]
	}
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"save", func() error { return tg.Save(ctx, id, []byte("x")) }},
		{"touch", func() error { return tg.Touch(ctx, id) }},
		{"cycle", func() error { return tg.Cycle(ctx, id, []byte("y")) }},
	} {
		if op.name != "save" {
			// A minute left: the operation must give the session its
			// full time again.
			if err := c.PExpire(ctx, key(), time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := op.do(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if left, err := c.PTTL(ctx, key()).Result(); err != nil || left < ttl-time.Minute || left > ttl {
			t.Errorf("after a %s the session lives %v more (%v), want %v", op.name, left, err, ttl)
		}
	}
	if err := c.Del(ctx, key()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := tg.Touch(ctx, id); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("touch of a session that is gone: %v, want it to fail saying missing", err)
	}
}

// TestRedisTTLFollowsThePlan: sessbench run gives Redis sessions a TTL
// derived from the run's plan (redistarget.TTL of its planned length), not
// the directory targets' 400 days: the keys of a killed run would
// otherwise stay for 400 days, and a server that evicts by TTL would evict
// real sessions before them. The run is planned for two targets × 24
// cells × (1h + 200ms), so its sessions must live 98h; it is interrupted
// once they exist, and cleans up.
func TestRedisTTLFollowsThePlan(t *testing.T) {
	addr := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	cfg := bench.Config{Workloads: []bench.Workload{bench.Cycle, bench.Load, bench.Save, bench.Touch}, Sizes: []int{1024, 16384},
		Concurrency: []int{1, 8, 64}, Duration: time.Hour, Warmup: 200 * time.Millisecond, Rounds: 3}
	want := redistarget.TTL(cfg.PlannedLength(2))
	if want != 98*time.Hour {
		t.Fatalf("the plan gives %v, want 98h: the test's arithmetic is off", want)
	}
	cmd := exec.Command(binary, "run", "--dir", benchDir(t), "--redis", addr, "--duration", "1h", "--sessions", "8", "--durability", "none")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Error("sessbench did not exit after SIGINT")
		}
	}()
	var keys []string
	waitFor(t, "sessions in redis", time.Minute, func() bool {
		keys, _ = c.Keys(context.Background(), "sessbench:*:s:*").Result()
		return len(keys) >= 2*8
	})
	for _, k := range keys {
		left, err := c.PTTL(context.Background(), k).Result()
		if err != nil || left < want-time.Minute || left > want {
			t.Fatalf("%s lives %v more (%v), want %v", k, left, err, want)
		}
	}
}
