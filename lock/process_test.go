//go:build unix

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// fastLease is the lease configuration of the cross-process lease tests'
// children: short enough that expiry happens within the test.
var fastLease = lock.Config{Strategy: lock.Lease, LeaseTTL: 300 * time.Millisecond, LeaseGrace: 100 * time.Millisecond}

// killedLease is the lease configuration of a child that a test checks
// holds the lock, then kills, and whose lease it then waits out: long
// enough that a renewer starved by a loaded machine keeps it while the
// test checks (a 300 ms lease ran out unrenewed in a CI run of 34
// minutes, and the test's TryLock rightly took the lock), short enough to
// wait out.
var killedLease = lock.Config{Strategy: lock.Lease, LeaseTTL: 3 * time.Second, LeaseGrace: 100 * time.Millisecond}

// holderLease is the lease configuration of the test process itself where
// it takes over a child's expired lease and must keep it. A lease records
// its own expiry, so this process breaks the child's short lease on time;
// its own lease is long, because a 300 ms one is lost whenever its renewer
// misses three ticks, as it did once in CI under the race detector beside
// other packages' tests and a guest at a higher priority ("lease expired
// before it could be renewed"): the lease did what it must, the test
// asked too much of the machine.
var holderLease = lock.Config{Strategy: lock.Lease, LeaseTTL: time.Minute, LeaseGrace: 100 * time.Millisecond}

// holderTable opens this process's table beside children that lock with
// cfg: on cfg, or with holderLease on cfg.Dir where cfg takes leases.
func holderTable(t *testing.T, cfg lock.Config) *lock.Table {
	t.Helper()
	if cfg.Strategy == lock.Lease {
		own := holderLease
		own.Dir = cfg.Dir
		cfg = own
	}
	return newTable(t, cfg)
}

func newTable(t *testing.T, cfg lock.Config) *lock.Table {
	t.Helper()
	tab, err := lock.NewTable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}

// Two processes, each with two goroutines, increment a counter file
// non-atomically under one lock name. Any overlap loses an update (or makes
// a reader see a truncated file), so the final count is exact only if the
// lock excludes across processes and within each process.
func TestCrossProcessMutualExclusion(t *testing.T) {
	for _, tc := range []struct {
		strategy lock.Strategy
		iter     int
	}{
		{lock.Flock, 150},
		{lock.Lease, 40}, // each lease cycle is an O_EXCL create + fsync
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			counter := filepath.Join(t.TempDir(), "counter")
			if err := os.WriteFile(counter, []byte("0"), 0o600); err != nil {
				t.Fatal(err)
			}
			const procs, goroutines = 2, 2
			env := append(strategyEnv(dir, "ctr", lock.Config{Strategy: tc.strategy}),
				"LOCK_COUNTER="+counter, "LOCK_GOROUTINES="+strconv.Itoa(goroutines), "LOCK_ITER="+strconv.Itoa(tc.iter))
			var kids []*child
			for i := 0; i < procs; i++ {
				kids = append(kids, startChild(t, "count", env...))
			}
			for _, k := range kids {
				k.Finish(t)
			}
			b, err := os.ReadFile(counter)
			if err != nil {
				t.Fatal(err)
			}
			if want := strconv.Itoa(procs * goroutines * tc.iter); string(b) != want {
				t.Fatalf("counter = %s, want %s: updates were lost, the lock did not exclude", b, want)
			}
		})
	}
}

// A holder killed with SIGKILL must not keep the lock: a flock goes with
// the process's descriptors at once, a lease once it expires.
func TestKilledHolderReleases(t *testing.T) {
	for _, cfg := range []lock.Config{{Strategy: lock.Flock}, killedLease} {
		t.Run(cfg.Strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg.Dir = dir
			tab := holderTable(t, cfg)
			kid := startChild(t, "hold", strategyEnv(dir, "k", cfg)...)
			kid.Expect(t, "locked")
			if h, err := tab.TryLock("k", "k", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
				if h != nil {
					h.Unlock()
				}
				t.Fatalf("TryLock while the child holds the lock: %v, want ErrLocked", err)
			}
			kid.Kill(t)
			if cfg.Strategy == lock.Flock {
				// The child has been reaped, so its descriptors are closed:
				// the lock must be free now, without waiting.
				h, err := tab.TryLock("k", "k", lock.Exclusive)
				if err != nil {
					t.Fatalf("TryLock after the holder was killed and reaped: %v", err)
				}
				h.Unlock()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), childDeadline)
			defer cancel()
			h, err := tab.Lock(ctx, "k", "k", lock.Exclusive)
			if err != nil {
				t.Fatalf("Lock after the lease holder was killed: %v", err)
			}
			if err := h.Verify(); err != nil {
				t.Fatalf("Verify of the taken-over lease: %v", err)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "k.lease")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("lease file after unlock: %v, want it removed", err)
			}
		})
	}
}

// A process whose goroutines keep one lock busy among themselves hands the
// OS lock from one to the next, and releases it after a few handovers so
// that waiters elsewhere get a turn. A waiter in another process must then
// get it: the busy process's goroutines used to take it again within
// microseconds of each release, while the other process slept between
// polls, and it waited while they had the lock thousands of times. The
// test counts those turns, not time: the busy process lets others in at
// least every 100 ms, which its goroutines' 1 ms turns fill with about a
// hundred, and a waiter that polls in every pause gets the lock at the
// first.
//
// The same holds for a process that takes the lock again and again
// without handing it over: one goroutine locking it request after
// request. Each release left it free for microseconds, which a waiter
// elsewhere hit once in thousands of turns: a take that follows a
// release at once now counts as a handover. With tryers, goroutines of
// the busy process also try the lock with TryLock in a loop: a TryLock
// fails in the pause while goroutines of the process wait for the lock.
// It took the lock in the instant between the release and the first
// waiter's wake-up, which began another tenure: the waiter elsewhere
// waited 300 to 700 turns where it now waits under 100.
func TestWaiterElsewhereGetsTurn(t *testing.T) {
	// About ten releases for other hosts' sake.
	const maxTurns = 1000
	for _, tc := range []struct {
		cfg             lock.Config
		lockers, tryers int
	}{
		{lock.Config{Strategy: lock.Flock}, 4, 0},
		{lock.Config{Strategy: lock.Lease}, 4, 0},
		{lock.Config{Strategy: lock.Flock}, 4, 2},
		{lock.Config{Strategy: lock.Lease}, 4, 2},
		// One goroutine taking the lock again and again, with Lock or
		// TryLock: no handover, but a release and a take microseconds
		// apart, which a waiter elsewhere did not see.
		{lock.Config{Strategy: lock.Flock}, 1, 0},
		{lock.Config{Strategy: lock.Lease}, 1, 0},
	} {
		cfg := tc.cfg
		name := fmt.Sprintf("%v/lock%d/try%d", cfg.Strategy, tc.lockers, tc.tryers)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg.Dir = dir
			tab := newTable(t, cfg)
			kid := startChild(t, "contend", append(strategyEnv(dir, "hot", cfg), "LOCK_GOROUTINES="+strconv.Itoa(tc.lockers), "LOCK_TRYERS="+strconv.Itoa(tc.tryers))...)
			kid.Expect(t, "contending")
			turns := func() int {
				kid.Send(t, "cycles")
				n, err := strconv.Atoi(strings.TrimPrefix(kid.Expect(t, "cycles "), "cycles "))
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := turns()
			for i := 0; i < 3; i++ {
				h, err := tab.Lock(hangCtx(t), "hot", "hot", lock.Exclusive)
				if err != nil {
					t.Fatalf("Lock %d while another process's goroutines take turns on it: %v", i, err)
				}
				n := turns() - before
				if err := h.Unlock(); err != nil {
					t.Fatal(err)
				}
				if n > maxTurns {
					t.Fatalf("Lock %d: the other process had the lock %d times while this one waited (want at most %d): it never released it long enough for a waiter elsewhere", i, n, maxTurns)
				}
				t.Logf("Lock %d: the other process had the lock %d times while this one waited", i, n)
				// This process took the lock at once the times before:
				// wait for the other to be busy with it again.
				awaitCount(t, turns, turns()+64)
				before = turns()
			}
			kid.Finish(t)
		})
	}
}

// awaitCount polls count, a question to a child process, until its answer
// reaches n. Between questions it lets a few of the child's 1 ms turns
// pass: asked back to back, the questions were nearly all of the parent's
// CPU and much of the child's, a round trip a few microseconds apart for
// tens of milliseconds at a time.
func awaitCount(t *testing.T, count func() int, n int) {
	t.Helper()
	deadline := time.Now().Add(childDeadline)
	for got := count(); got < n; got = count() {
		if time.Now().After(deadline) {
			t.Fatalf("the other process's count is %d after %v, want %d: it stopped taking turns", got, childDeadline, n)
		}
		time.Sleep(4 * time.Millisecond) // polled, with the test's deadline
	}
}

// In the pause after a release for other hosts' sake, a TryLock may take
// the free lock (a sweep would skip it for nothing), but that take must
// not pass the lock on to the process's Lock callers inside the pause:
// they shared it (another key on the file) or had it handed over at the
// TryLock's Unlock (the same key), so the pause left nothing free for a
// waiter elsewhere, and the tenure the TryLock began kept that waiter out
// for another 100 ms. The busy process uses pauses so and counts its
// Locks that returned inside one; this process waits for the lock
// meanwhile as a host elsewhere would, and counts its turns.
func TestPauseTakesNotPassedOn(t *testing.T) {
	const pauses = 10
	for _, cfg := range []lock.Config{{Strategy: lock.Flock}, {Strategy: lock.Lease}} {
		for _, otherKey := range []bool{false, true} {
			name := cfg.Strategy.String() + "/samekey"
			if otherKey {
				name = cfg.Strategy.String() + "/otherkey"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				cfg.Dir = dir
				tab := newTable(t, cfg)
				env := strategyEnv(dir, "hot", cfg)
				if otherKey {
					env = append(env, "LOCK_OTHERKEY=1")
				}
				kid := startChild(t, "pausetake", env...)
				kid.Expect(t, "contending")
				count := func(what string) int {
					kid.Send(t, what)
					n, err := strconv.Atoi(strings.TrimPrefix(kid.Expect(t, what+" "), what+" "))
					if err != nil {
						t.Fatal(err)
					}
					return n
				}
				for count("tries") < pauses {
					before := count("cycles")
					h, err := tab.Lock(hangCtx(t), "hot", "hot", lock.Exclusive)
					if err != nil {
						t.Fatalf("Lock while another process takes turns on it: %v", err)
					}
					n := count("cycles") - before
					if err := h.Unlock(); err != nil {
						t.Fatal(err)
					}
					t.Logf("the other process had the lock %d times while this one waited", n)
					cycles := func() int { return count("cycles") }
					awaitCount(t, cycles, cycles()+64)
				}
				if n := count("pausetakes"); n > 0 {
					t.Errorf("in %d pauses for waiters elsewhere taken by a TryLock, the process's Lock callers took the lock %d times before the pause ended", count("tries"), n)
				}
				kid.Finish(t)
			})
		}
	}
}

// A lease holder that is stopped past its lease loses the lock to another
// process; once resumed it must learn so from Verify (ErrLockLost), and its
// Unlock must not remove the new holder's lease.
func TestLeaseBrokenWhileStopped(t *testing.T) {
	dir := t.TempDir()
	cfg := fastLease
	cfg.Dir = dir
	tab := holderTable(t, cfg)
	kid := startChild(t, "hold", strategyEnv(dir, "s", cfg)...)
	kid.Expect(t, "locked")
	if err := kid.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			kid.Cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), childDeadline)
	defer cancel()
	h, err := tab.Lock(ctx, "s", "s", lock.Exclusive)
	if err != nil {
		t.Fatalf("Lock while the holder is stopped past its lease: %v", err)
	}
	defer h.Unlock()
	if err := kid.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true
	kid.Send(t, "verify")
	if got := kid.Expect(t, "verify "); got[:len("verify lost")] != "verify lost" {
		t.Fatalf("old holder's Verify after its lease was broken: %q, want ErrLockLost", got)
	}
	kid.Send(t, "unlock")
	kid.Expect(t, "unlock ")
	kid.Finish(t)
	if err := h.Verify(); err != nil {
		t.Fatalf("new holder's Verify after the old holder unlocked: %v (the old holder removed our lease?)", err)
	}
	other := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	if h2, err := other.TryLock("s", "s", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
		if h2 != nil {
			h2.Unlock()
		}
		t.Fatalf("TryLock by a third party while the new holder holds the lease: %v, want ErrLocked", err)
	}
}

// A Lock whose context ends while another owner holds the lock returns an
// error matching both ErrLocked and the context's error. Every way of
// waiting is covered: polling an OS lock held by another process or another
// Table, and queueing behind a holder of the key in the same Table. Nothing
// here measures time: the test only needs Lock to return, with the right
// error.
func TestLockContextEnds(t *testing.T) {
	type setup func(t *testing.T, dir string, cfg lock.Config) *lock.Table
	otherProcess := func(t *testing.T, dir string, cfg lock.Config) *lock.Table {
		kid := startChild(t, "hold", strategyEnv(dir, "c", cfg)...)
		kid.Expect(t, "locked")
		return newTable(t, cfg)
	}
	otherTable := func(t *testing.T, dir string, cfg lock.Config) *lock.Table {
		h, err := newTable(t, cfg).Lock(context.Background(), "c", "c", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Unlock() })
		return newTable(t, cfg)
	}
	sameTable := func(t *testing.T, dir string, cfg lock.Config) *lock.Table {
		tab := newTable(t, cfg)
		h, err := tab.Lock(context.Background(), "c", "c", lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Unlock() })
		return tab
	}
	setups := []struct {
		name string
		fn   setup
	}{
		{"other-process", otherProcess},
		{"other-table", otherTable},
		{"same-table", sameTable},
	}
	ends := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"timeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			// Whether cancel lands before or during the wait, the
			// outcome must be the same.
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, su := range setups {
			for _, end := range ends {
				t.Run(fmt.Sprintf("%v/%s/%s", strategy, su.name, end.name), func(t *testing.T) {
					dir := t.TempDir()
					cfg := lock.Config{Dir: dir, Strategy: strategy}
					tab := su.fn(t, dir, cfg)
					ctx, cancel := end.ctx()
					defer cancel()
					h, err := tab.Lock(ctx, "c", "c", lock.Exclusive)
					if err == nil {
						h.Unlock()
						t.Fatal("Lock succeeded while the lock is held")
					}
					if !errors.Is(err, lock.ErrLocked) || !errors.Is(err, end.want) {
						t.Fatalf("Lock: %v; want an error matching ErrLocked and %v", err, end.want)
					}
				})
			}
		}
	}
	t.Run("LockFile", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "gc.lock")
		held, err := lock.TryLockFile(p)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Unlock()
		if l, err := lock.TryLockFile(p); !errors.Is(err, lock.ErrLocked) {
			if l != nil {
				l.Unlock()
			}
			t.Fatalf("second TryLockFile: %v, want ErrLocked", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if l, err := lock.LockFile(ctx, p); !errors.Is(err, lock.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
			if l != nil {
				l.Unlock()
			}
			t.Fatalf("LockFile: %v; want ErrLocked and DeadlineExceeded", err)
		}
		held.Unlock()
		l, err := lock.LockFile(context.Background(), p)
		if err != nil {
			t.Fatalf("LockFile after release: %v", err)
		}
		l.Unlock()
	})
}
