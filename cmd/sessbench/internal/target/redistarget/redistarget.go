// Package redistarget benchmarks the same session cycle on a real Redis
// server, as a PHP or Go Redis session handler with locking would run it.
package redistarget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
)

// lockTTL is a lock's expiry, should its holder die.
const lockTTL = 30 * time.Second

// MinTTL is the shortest session TTL TTL gives, and the TTL of a
// count-based (--ops) run, whose length the plan does not give: a day,
// far longer than such a run usually lasts, and soon enough gone after a
// killed one.
const MinTTL = 24 * time.Hour

// TTL returns the session TTL for a run planned to last planned
// (bench.Config.PlannedLength; 0 when not known): twice that plus an hour,
// rounded up to a whole hour, at least MinTTL and at most
// bench.SessionIdle. A session may go unwritten for the whole run (a load
// or touch workload never writes), so it must outlive the run, the time
// spent creating sessions and slices that overrun their time included;
// the doubling and the hour cover those. A session handler's usual 24
// minutes would not. It must not be much longer either: the keys of a
// killed run (SIGKILL; Ctrl-C cleans up) stay until it ends, and on a
// server with maxmemory-policy volatile-ttl, real sessions with shorter
// TTLs would be evicted before them. The TTL's length costs a command
// nothing.
func TTL(planned time.Duration) time.Duration {
	if planned >= (bench.SessionIdle-time.Hour)/2 {
		return bench.SessionIdle
	}
	ttl := (2*planned + time.Hour + time.Hour - 1).Truncate(time.Hour)
	return min(max(ttl, MinTTL), bench.SessionIdle)
}

// release deletes the lock only if it still holds our token, so a request
// whose lock expired cannot release the next holder's lock.
var release = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// SilenceLibraryLog stops go-redis logging dial failures to stderr: the
// errors reach the caller anyway, and the log would garble the progress bar
// and the report. It changes go-redis's process-wide logger, so only main
// may call it.
func SilenceLibraryLog() { redis.SetLogger(quiet{}) }

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// Target is a Redis server under test. All keys live under a random prefix
// and are deleted on Close.
type Target struct {
	name, addr, prefix, server string
	// persistence is what the server keeps of a write (Persistence).
	persistence string
	c           *redis.Client
	tokens      atomic.Uint64
	ttl         time.Duration // of a session after each write
	answer      time.Duration // each command's deadline
	// unwatch stops the watch on Open's context (see abort); false once
	// it has run: the client is closed, or being closed.
	unwatch func() bool
	note    string // see Note
}

// Note is what the person running the benchmark should be told of how
// the target was opened ("" for nothing): a password its server has no
// use for, dropped (see redisaddr.WithoutPassword).
func (t *Target) Note() string { return t.note }

// reopen is Open of srv, bare of the password its server refused, with
// note for Note.
func reopen(ctx context.Context, name string, srv redisaddr.Server, note string, conns int, ttl, answer time.Duration) (*Target, error) {
	t, err := Open(ctx, name, srv, conns, ttl, answer)
	if err != nil {
		return nil, err
	}
	t.note = note
	return t, nil
}

// Open connects to srv with a pool big enough for conns concurrent clients
// (a smaller pool would queue clients inside go-redis and charge the wait to
// Redis) and checks that the server answers, and that it takes conns
// connections at once (see reserve). Each write gives a session ttl to
// live (see TTL), a whole number of milliseconds of at least one. Each
// command, and its answer, has answer to arrive (see
// redisaddr.AnswerTimeout; 0: redisaddr.AnswerBase): a command not
// answered in time fails with bench.ErrNoAnswer, which stops the run.
//
// ctx is the run's: once it ends (Ctrl-C), the commands in flight fail at
// once, where go-redis, which heeds a context's deadline in a read but not
// its end, waited for their answer as long as answer from a server that
// does not answer; Close still removes the keys, over a connection of its
// own.
func Open(ctx context.Context, name string, srv redisaddr.Server, conns int, ttl, answer time.Duration) (*Target, error) {
	if ttl < time.Millisecond || ttl%time.Millisecond != 0 {
		return nil, fmt.Errorf("redis session TTL %v: want whole milliseconds, at least 1ms", ttl)
	}
	if answer <= 0 {
		answer = redisaddr.AnswerBase
	}
	var b [6]byte
	rand.Read(b[:])
	addr := srv.String()
	c := redis.NewClient(&redis.Options{
		Addr:        srv.Addr,
		Username:    srv.Username,
		Password:    srv.Password,
		DB:          srv.DB,
		TLSConfig:   srv.TLSConfig(),
		PoolSize:    conns + 4,
		DialTimeout: 3 * time.Second,
		// go-redis's default, 5 s for any command, would take a large
		// session over a slow link for a silent server.
		ReadTimeout:  answer,
		WriteTimeout: answer,
		// Fail an unreachable server quickly, and count a failed command
		// as an error rather than hide it (and its latency) in a retry.
		DialerRetries:   1,
		MaxRetries:      -1,
		DisableIdentity: true,
		// Protocol 2 and no maintenance notifications: the plainest
		// request/response exchange, the same on every server version.
		Protocol:                 2,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	// go-redis heeds a context's deadline in a read, not its end: a
	// server that took the connection and does not answer held Ctrl-C
	// until the ping's timeout. Closing the client ends the read now.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("--redis %s: %w", addr, context.Cause(ctx))
		}
		if bare, note, ok := redisaddr.WithoutPassword(srv, err); ok {
			return reopen(ctx, name, bare, note, conns, ttl, answer)
		}
		return nil, redisaddr.Explain(srv, err)
	}
	if srv.Password != "" && srv.Username == "" {
		// go-redis logs in with HELLO's AUTH as the default user, which a
		// server without a password takes with any password; redigo
		// (sessbench http's scs-redis peer) and redis-cli log in with
		// AUTH, which it refuses. Asked the same, both subcommands drop
		// such a password alike, and say so.
		//
		// A server without AUTH (disabled or renamed) that wants no
		// password is met so too, as redigo goes on there once it drops
		// the password; one that wants a password keeps HELLO's login,
		// which redigo cannot make.
		if err := c.Do(pctx, "AUTH", srv.Password).Err(); err != nil {
			if bare, note, ok := redisaddr.WithoutPassword(srv, err); ok {
				t, err := reopen(ctx, name, bare, note, conns, ttl, answer)
				if err == nil || !bare.NoAuthCommand || ctx.Err() != nil {
					c.Close()
					return t, err
				}
			}
		}
	}
	t := &Target{name: name, addr: addr, c: c, prefix: "sessbench:" + hex.EncodeToString(b[:]) + ":", server: "redis", ttl: ttl, answer: answer}
	if info, err := c.Info(pctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				t.server = "redis " + v
			}
		}
	}
	t.persistence = t.readPersistence(pctx)
	if err := t.reserve(ctx, conns); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("--redis %s: %w", addr, context.Cause(ctx))
		}
		return nil, err
	}
	if !stop() {
		// Ended as Open returned: the client is closed, or about to be.
		c.Close()
		return nil, fmt.Errorf("--redis %s: %w", addr, context.Cause(ctx))
	}
	// Watched from here to Close: the end of ctx closes the client, and
	// with it the connections of the commands in flight, which then fail
	// at once. One watch for the target, not one per command: a
	// context.AfterFunc per command would have every client of the run
	// take the run context's mutex twice per command, in the measurement.
	t.unwatch = context.AfterFunc(ctx, func() { c.Close() })
	return t, nil
}

// reserve refuses a run that opens more connections at once than the
// server takes (its maxclients, less the clients connected), when CONFIG
// GET tells its maxclients, and opens the conns connections at once in
// any case, so that a server that refuses one refuses the run before
// anything is written (see ErrMaxClients). They stay in the pool: the
// run's first measurement dials none.
func (t *Target) reserve(ctx context.Context, conns int) error {
	// Both optional: managed servers and ACL users may be refused them.
	limit, _ := t.c.ConfigGet(ctx, "maxclients").Result()
	info, _ := t.c.Info(ctx, "clients").Result()
	// The pool holds the one connection Open has used so far.
	if most, connected, ok := ClientLimit(limit["maxclients"], info); ok {
		if err := CheckClients(t.addr, conns, most, connected, 1); err != nil {
			return err
		}
	}
	return Reserve(ctx, t.addr, conns, func(ctx context.Context) (func(), error) {
		cn := t.c.Conn()
		if err := cn.Ping(ctx).Err(); err != nil {
			cn.Close()
			return nil, err
		}
		return func() { cn.Close() }, nil
	})
}

// Name implements bench.Target.
func (t *Target) Name() string { return t.name }

// Info implements bench.Target.
func (t *Target) Info() bench.Info {
	return bench.Info{Kind: "redis", Location: t.addr, Server: t.server, Persistence: t.persistence, SessionIdleSec: t.ttl.Seconds()}
}

func (t *Target) key(id string) string     { return t.prefix + "s:" + id }
func (t *Target) lockKey(id string) string { return t.prefix + "l:" + id }

// Cycle implements bench.Target: lock with SET NX PX, GET, SET with expiry,
// release if the token still matches.
func (t *Target) Cycle(ctx context.Context, id string, payload []byte) (err error) {
	lk := t.lockKey(id)
	tok := strconv.FormatUint(t.tokens.Add(1), 36)
	if err := t.lock(ctx, lk, tok); err != nil {
		return t.failed(err)
	}
	defer func() {
		// Release even when ctx has ended, or the lock would linger for lockTTL.
		rerr := release.Run(context.WithoutCancel(ctx), t.c, []string{lk}, tok).Err()
		if err == nil {
			err = t.failed(rerr)
		}
	}()
	k := t.key(id)
	if err := t.c.Get(ctx, k).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return t.failed(err)
	}
	return t.failed(t.c.Set(ctx, k, payload, t.ttl).Err())
}

// failed returns err, marked bench.ErrNoAnswer and naming the server when
// it is a command the server did not answer in time: go-redis's own text,
// "i/o timeout", says neither.
func (t *Target) failed(err error) error {
	if err == nil || !redisaddr.IsTimeout(err) {
		return err
	}
	return bench.NoAnswer(fmt.Errorf("the Redis server at %s did not answer a command within %v: %w", t.addr, t.answer, err))
}

// lock spins on SET NX with capped exponential backoff, as Redis session
// lockers do: Redis has no blocking lock primitive. The cap of 2 ms is
// phpredis's default redis.session.lock_wait_time; starting lower keeps an
// uncontended-but-unlucky retry from costing a full 2 ms.
func (t *Target) lock(ctx context.Context, key, tok string) error {
	wait := 50 * time.Microsecond
	var tm *time.Timer
	for {
		ok, err := t.c.SetNX(ctx, key, tok, lockTTL).Result()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if tm == nil {
			tm = time.NewTimer(wait)
			defer tm.Stop()
		} else {
			tm.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tm.C:
		}
		wait = min(2*wait, 2*time.Millisecond)
	}
}

// Load implements bench.Target.
func (t *Target) Load(ctx context.Context, id string) error {
	err := t.c.Get(ctx, t.key(id)).Err()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("session %s… missing", id[:6])
	}
	return t.failed(err)
}

// Save implements bench.Target.
func (t *Target) Save(ctx context.Context, id string, payload []byte) error {
	return t.failed(t.c.Set(ctx, t.key(id), payload, t.ttl).Err())
}

// Touch implements bench.Target. Touching a missing session fails, as
// fsstore's Touch does: PEXPIRE answers 0 for it, which, taken for a
// success, would measure a miss as a touch.
func (t *Target) Touch(ctx context.Context, id string) error {
	ok, err := t.c.PExpire(ctx, t.key(id), t.ttl).Result()
	if err == nil && !ok {
		return fmt.Errorf("session %s… missing", id[:6])
	}
	return t.failed(err)
}

// Close implements bench.Target: it deletes every key under the prefix and
// disconnects. After the end of Open's context, which closed the client
// (see Open), it deletes them over a client of its own, whose commands,
// which carry no session, have redisaddr.AnswerBase to be answered.
func (t *Target) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := t.c
	if t.unwatch != nil && !t.unwatch() {
		o := *t.c.Options()
		o.ReadTimeout, o.WriteTimeout = redisaddr.AnswerBase, redisaddr.AnswerBase
		o.PoolSize = 1
		c = redis.NewClient(&o)
		t.c.Close() // closed already, or being closed: its error says nothing
	}
	var first error
	iter := c.Scan(ctx, 0, t.prefix+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() {
		if len(batch) > 0 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil && first == nil {
				first = err
			}
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil && first == nil {
		first = err
	}
	if err := c.Close(); err != nil && first == nil {
		first = err
	}
	if first != nil {
		// A server that stopped answering keeps the keys until their TTL.
		return fmt.Errorf("cleaning up redis keys %s* (they expire after %s): %w", t.prefix, strings.TrimSuffix(t.ttl.String(), "0m0s"), t.failed(first))
	}
	return nil
}
