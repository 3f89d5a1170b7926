//go:build unix

package lock_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// Cross-process tests re-run this test binary as a child selected by
// helperEnv (internal/proctest); the child reads its parameters from the
// environment and talks to the parent over stdin/stdout.
const helperEnv = "SESSFS_LOCK_HELPER"

// childDeadline bounds how long the parent waits for a child. It only turns
// a hung test into a failure; nothing is measured against it.
const childDeadline = proctest.Deadline

// TestHelperProcess is not a test: it is the body of the child processes.
func TestHelperProcess(t *testing.T) { proctest.Main(t, helperEnv, runHelper) }

var say = proctest.Say

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
	if v := os.Getenv("LOCK_VERIFY_AFTER"); v != "" {
		if cfg.VerifyAfter, err = time.ParseDuration(v); err != nil {
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
		return helperCount(tab, name, os.Getenv("LOCK_COUNTER"), proctest.EnvInt("LOCK_GOROUTINES", 1), proctest.EnvInt("LOCK_ITER", 10))
	case "hold":
		return helperHold(tab, name)
	case "holdmany":
		return helperHoldMany(tab, name, proctest.EnvInt("LOCK_COUNT", 1))
	case "contend":
		return helperContend(tab, name, proctest.EnvInt("LOCK_GOROUTINES", 4), proctest.EnvInt("LOCK_TRYERS", 0))
	case "holdexec":
		return helperHoldExec(tab, name)
	case "pausetake":
		return helperPauseTake(tab, name, os.Getenv("LOCK_OTHERKEY") != "")
	case "countkeys":
		return helperCountKeys(tab, name, os.Getenv("LOCK_COUNTER"), proctest.EnvInt("LOCK_KEYS", 2), proctest.EnvInt("LOCK_GOROUTINES", 1), proctest.EnvInt("LOCK_ITER", 10))
	case "try":
		// Reports whether name is free to this process, without waiting,
		// in LOCK_MODE ("shared"; otherwise exclusive).
		mode := lock.Exclusive
		if os.Getenv("LOCK_MODE") == "shared" {
			mode = lock.Shared
		}
		h, err := tab.TryLock(name, name, mode)
		if err != nil {
			say("held %v", err)
			return nil
		}
		say("free")
		return h.Unlock()
	case "tryfile":
		// The same, for the FileLock at LOCK_PATH.
		l, err := lock.TryLockFile(os.Getenv("LOCK_PATH"))
		if err != nil {
			say("held %v", err)
			return nil
		}
		say("free")
		return l.Unlock()
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

// helperCountKeys is helperCount with keys: goroutine g increments the
// counter of key k<g%keys> (file counter.k<n>) under that key, all keys on
// the lock file name, and while holding it also locks a key of its own on
// the same file, which must never wait for the first.
func helperCountKeys(tab *lock.Table, name, counter string, keys, goroutines, iter int) error {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("k", g%keys)
			own := fmt.Sprint("own", os.Getpid(), "-", g)
			for i := 0; i < iter; i++ {
				err := incrementKey(tab, name, key, counter+"."+key, func() error {
					h, err := tab.Lock(context.Background(), name, own, lock.Exclusive)
					if err != nil {
						return err
					}
					return h.Unlock()
				})
				if err != nil {
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
	return incrementKey(tab, name, name, counter, func() error { return nil })
}

// incrementKey increments counter under key on the lock file name, calling
// during between the read and the write.
func incrementKey(tab *lock.Table, name, key, counter string, during func() error) error {
	h, err := tab.Lock(context.Background(), name, key, lock.Exclusive)
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
	if err := during(); err != nil {
		h.Unlock()
		return err
	}
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
	h, err := tab.Lock(context.Background(), name, name, lock.Exclusive)
	if err != nil {
		return err
	}
	say("locked")
	// taken: the locks of "take NAME", held until "drop NAME".
	taken := map[string]*lock.Handle{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "verify":
			say("verify %s", classify(h.Verify()))
		case "unlock":
			say("unlock %s", classify(h.Unlock()))
		case "take":
			th, err := tab.TryLock(arg, arg, lock.Exclusive)
			switch {
			case err == nil:
				taken[arg] = th
				say("take ok")
			case errors.Is(err, lock.ErrLocked):
				say("take locked")
			default:
				say("take error: %v", err)
			}
		case "drop":
			if th := taken[arg]; th != nil {
				delete(taken, arg)
				th.Unlock()
			}
			say("dropped")
		}
	}
	return nil
}

// helperHoldMany locks the files name0..name(n-1), reports "locked" and
// holds them until stdin closes.
func helperHoldMany(tab *lock.Table, name string, n int) error {
	for i := 0; i < n; i++ {
		f := name + strconv.Itoa(i)
		if _, err := tab.Lock(context.Background(), f, f, lock.Exclusive); err != nil {
			return err
		}
	}
	say("locked")
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// helperContend keeps the lock name busy inside this process: goroutines
// lock and unlock it in a loop, so that the others queue up while one
// holds it and the table hands the OS lock over between them. It reports
// "contending" once they have had the lock a few times, answers "cycles"
// on stdin with the number of times they have had it, and goes on until
// stdin closes.
//
// tryers more goroutines take it with TryLock in a loop, as a sweep that
// skips what is busy does, and count their turns too.
func helperContend(tab *lock.Table, name string, goroutines, tryers int) error {
	var stop atomic.Bool
	var cycles atomic.Int64
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	errs := make(chan error, goroutines+tryers)
	for range tryers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				h, err := tab.TryLock(name, name, lock.Exclusive)
				if errors.Is(err, lock.ErrLocked) {
					runtime.Gosched()
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
				if err := h.Unlock(); err != nil {
					errs <- err
					return
				}
				if cycles.Add(1) >= 64 {
					once.Do(func() { close(started) })
				}
			}
		}()
	}
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				h, err := tab.Lock(context.Background(), name, name, lock.Exclusive)
				if err != nil {
					errs <- err
					return
				}
				// A request's work, during which the others queue up.
				time.Sleep(time.Millisecond)
				if err := h.Unlock(); err != nil {
					errs <- err
					return
				}
				if cycles.Add(1) >= int64(goroutines)*16 {
					once.Do(func() { close(started) })
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		once.Do(func() { close(started) })
	}()
	<-started
	say("contending")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "cycles" {
			say("cycles %d", cycles.Load())
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	return errors.Join(<-errs)
}

// helperPauseTake keeps the lock name busy with one goroutine taking it
// again and again (1 ms turns). Each time one of its releases begins a
// pause for other hosts' sake, it takes the lock at once with TryLock
// (a sweep may), asks for it with Lock from another goroutine while it
// holds it (for the same key, or for another key on the file when
// otherKey is set), and lets the TryLock go once that Lock waits or has
// returned. It reports "contending" once it has had a few turns, and
// answers "cycles" (turns), "tries" (pauses so used) and "pausetakes"
// (Locks that returned inside a pause) on stdin until stdin closes.
func helperPauseTake(tab *lock.Table, name string, otherKey bool) error {
	ctx := context.Background()
	lockKey := name
	if otherKey {
		lockKey = name + "-other"
	}
	var stop atomic.Bool
	var cycles, tries, pauseTakes atomic.Int64
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- func() error {
			for i := 0; !stop.Load(); i++ {
				if i == 16 {
					close(started)
				}
				h, err := tab.Lock(ctx, name, name, lock.Exclusive)
				if err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // a request's work
				if err := h.Unlock(); err != nil {
					return err
				}
				cycles.Add(1)
				if !tab.PausedForTest(name) {
					continue
				}
				th, err := tab.TryLock(name, name, lock.Exclusive)
				if errors.Is(err, lock.ErrLocked) {
					continue // a waiter elsewhere took it first
				}
				if err != nil {
					return err
				}
				tries.Add(1)
				got := make(chan error, 1)
				go func() {
					h, err := tab.Lock(ctx, name, lockKey, lock.Exclusive)
					if err != nil {
						got <- err
						return
					}
					if tab.PausedForTest(name) {
						pauseTakes.Add(1)
					}
					got <- h.Unlock()
				}()
				for tab.Stats().Waiting == 0 && len(got) == 0 {
					runtime.Gosched()
				}
				if err := th.Unlock(); err != nil {
					return err
				}
				if err := <-got; err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	select {
	case <-started:
	case err := <-errc:
		return err
	}
	say("contending")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "cycles":
			say("cycles %d", cycles.Load())
		case "tries":
			say("tries %d", tries.Load())
		case "pausetakes":
			say("pausetakes %d", pauseTakes.Load())
		}
	}
	stop.Store(true)
	return <-errc
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

// child is a running helper process (see internal/proctest).
type child = proctest.Child

// startChild starts the helper with role and extra environment variables.
// The process is killed at the end of the test if still running.
func startChild(t *testing.T, role string, env ...string) *child {
	t.Helper()
	return proctest.Start(t, "TestHelperProcess", helperEnv, role, env)
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
