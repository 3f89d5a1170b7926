package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/fsstore"
)

// TestRedisSessionsOutliveTheRun: the Redis target keeps a session for
// bench.SessionIdle after each write, as the fs target does, not a session
// handler's 24 minutes that a long run outlasted; and touching a session
// that is gone fails rather than measuring PEXPIRE's cheap "no such key"
// as a touch.
func TestRedisSessionsOutliveTheRun(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	srv, err := redisaddr.Parse(addr, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tg, err := redistarget.Open(ctx, "redis", srv, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
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
		if ttl, err := c.PTTL(ctx, key()).Result(); err != nil || ttl < bench.SessionIdle-bench.SessionIdle/100 {
			t.Errorf("after a %s the session lives %v more (%v), want %v", op.name, ttl, err, bench.SessionIdle)
		}
	}
	if err := c.Del(ctx, key()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := tg.Touch(ctx, id); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("touch of a session that is gone: %v, want it to fail saying missing", err)
	}
}
